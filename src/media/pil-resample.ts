// PIL's Image.resize(size, Image.BICUBIC or Image.BILINEAR) for 8-bit RGB (libImaging/Resample.c:
// precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc),
// ported operation for operation so that the output is bit-identical to PIL's.
// Used where sharp cannot match PIL: enlarging (see decode.ts). Those inputs are
// small, so plain JavaScript is fast enough.
import type { Size } from './geometry.js';

/** Interleaved 8-bit RGB, row by row. */
export interface RgbImage extends Size {
  pixels: Uint8Array;
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** The resampling filters picsift reproduces, by their names in PIL. */
export type ResampleFilter = 'bicubic' | 'bilinear';

interface Filter {
  support: number;
  weight(x: number): number;
}

const FILTERS: Record<ResampleFilter, Filter> = {
  // Keys' cubic convolution with a = −0.5 (PIL's bicubic_filter).
  bicubic: {
    support: 2,
    weight(x) {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  // The triangle (PIL's bilinear_filter).
  bilinear: {
    support: 1,
    weight(x) {
      const t = Math.abs(x);
      return t < 1 ? 1 - t : 0;
    },
  },
};

/** For each output position along one axis: the first input index, how many inputs, and fixed-point weights. */
interface AxisWeights {
  first: Int32Array;
  count: Int32Array;
  weights: Int32Array;
  /** Stride of `weights`: room for the widest window. */
  taps: number;
}

function axisWeights(inSize: number, outSize: number, filter: Filter): AxisWeights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // widened when shrinking: antialiasing
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const inverseFilterScale = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const raw = new Float64Array(taps);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    const start = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - start;
    let total = 0;
    for (let i = 0; i < n; i++) {
      raw[i] = filter.weight((i + start - center + 0.5) * inverseFilterScale);
      total += raw[i];
    }
    for (let i = 0; i < n; i++) {
      const w = total !== 0 ? raw[i] / total : raw[i];
      weights[out * taps + i] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    first[out] = start;
    count[out] = n;
  }
  return { first, count, weights, taps };
}

function clip8(sum: number): number {
  const value = sum >> PRECISION_BITS;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

function resampleHorizontal(image: RgbImage, width: number, filter: Filter): RgbImage {
  const { first, count, weights, taps } = axisWeights(image.width, width, filter);
  const pixels = new Uint8Array(width * image.height * 3);
  for (let y = 0; y < image.height; y++) {
    const rowIn = y * image.width * 3;
    for (let x = 0; x < width; x++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      const k = x * taps;
      let p = rowIn + first[x] * 3;
      for (let i = 0; i < count[x]; i++, p += 3) {
        const w = weights[k + i];
        r += image.pixels[p] * w;
        g += image.pixels[p + 1] * w;
        b += image.pixels[p + 2] * w;
      }
      const o = (y * width + x) * 3;
      pixels[o] = clip8(r);
      pixels[o + 1] = clip8(g);
      pixels[o + 2] = clip8(b);
    }
  }
  return { pixels, width, height: image.height };
}

function resampleVertical(image: RgbImage, height: number, filter: Filter): RgbImage {
  const { first, count, weights, taps } = axisWeights(image.height, height, filter);
  const rowLength = image.width * 3;
  const pixels = new Uint8Array(rowLength * height);
  for (let y = 0; y < height; y++) {
    const k = y * taps;
    for (let v = 0; v < rowLength; v++) {
      let sum = HALF;
      let p = first[y] * rowLength + v;
      for (let i = 0; i < count[y]; i++, p += rowLength) sum += image.pixels[p] * weights[k + i];
      pixels[y * rowLength + v] = clip8(sum);
    }
  }
  return { pixels, width: image.width, height };
}

/** Horizontal pass first, then vertical, each skipped when that side keeps its size, as in ImagingResampleInner. */
export function resampleLikePil(image: RgbImage, target: Size, filterName: ResampleFilter): RgbImage {
  const filter = FILTERS[filterName];
  const wide = target.width === image.width ? image : resampleHorizontal(image, target.width, filter);
  return target.height === wide.height ? wide : resampleVertical(wide, target.height, filter);
}
