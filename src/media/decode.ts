// Decode + EXIF orientation + RGB conversion + resize, set up to reproduce what
// transformers' CLIPImageProcessor (and SiglipImageProcessor) gets from PIL:
// Image.open → ImageOps.exif_transpose → convert("RGB") → resize(BICUBIC or BILINEAR).
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { resizedSize, type Size } from './geometry.js';
import { resampleLikePil, type ResampleFilter, type RgbImage } from './pil-resample.js';
import type { ResizeRule } from './preprocessor-config.js';
import { withOwnErrors } from './vips-errors.js';

export interface DecodeOptions {
  /** Images, and resize results, with more pixels than this are refused. */
  maxPixels: number;
  /** Let sharp decode JPEGs at a reduced DCT scale (still at least the target size). */
  fastShrink: boolean;
  /** PIL's resize filter to reproduce. */
  filter: ResampleFilter;
  /** libvips gives up on an image after this long (a decoder stuck on a malicious file). */
  timeoutSeconds?: number;
}

export interface ResizedImage extends RgbImage {
  /** The image's size after EXIF orientation, before resizing. */
  original: Size;
}

const INPUT_OPTIONS: SharpOptions = {
  // Truncated or corrupt data is an error, not a grey or half-decoded image.
  // 'warning' (sharp's default) would also refuse JPEGs that merely carry junk
  // bytes between markers, which PIL and cameras' viewers accept.
  failOn: 'error',
  // ImageOps.exif_transpose: the reference sees the image the right way up.
  autoOrient: true,
  // PIL's convert("RGB") ignores embedded ICC profiles; sharp applies them by default.
  ignoreIcc: true,
  // DecodeOptions.maxPixels is checked against the header instead, with a clearer message.
  limitInputPixels: false,
};

/** Decodes, orients and resizes `bytes`; a failure's message is this image's own (vips-errors.ts). */
export function decodeResized(bytes: Buffer, rule: ResizeRule | null, options: DecodeOptions): Promise<ResizedImage> {
  return withOwnErrors(() => decodeOnce(bytes, rule, options));
}

async function decodeOnce(bytes: Buffer, rule: ResizeRule | null, options: DecodeOptions): Promise<ResizedImage> {
  const input = openImage(bytes, options.timeoutSeconds);
  const metadata = await input.metadata().catch(rethrowAsDecodeFailure);
  const original = metadata.autoOrient;
  refuseOverLimit(original, options.maxPixels, 'image is');
  const target = rule ? resizedSize(original, rule) : original;
  refuseOverLimit(target, options.maxPixels, 'image would be resized to');

  let resized: RgbImage;
  if (target.width > original.width || target.height > original.height) {
    // sharp enlarges with a sampling grid half an output pixel away from PIL's,
    // which also breaks the symmetry between mirrored EXIF orientations. Images
    // smaller than the target are small: resample them in JS exactly as PIL does.
    resized = resampleLikePil(await fullSizeRgb(input, metadata), target, options.filter);
  } else if (needsConversionBeforeResize(metadata)) {
    const rgb = await fullSizeRgb(input, metadata);
    const rawInput = withTimeout(
      sharp(rgb.pixels, { raw: { width: rgb.width, height: rgb.height, channels: 3 }, limitInputPixels: false }),
      options.timeoutSeconds,
    );
    resized = await shrink(rawInput, target, false, options.filter);
  } else {
    // The exact path sets a pipeline colourspace because that is what stops
    // sharp's JPEG shrink-on-load (src/pipeline.cc, shouldPreShrink): PIL decodes
    // at full size. It also makes grey and 16-bit input 8-bit sRGB before the
    // resize, as convert("RGB") does.
    resized = await shrink(options.fastShrink ? input : input.pipelineColourspace('srgb'), target, options.fastShrink, options.filter);
  }
  return { ...resized, original };
}

/** sharp's kernel for each PIL filter: the same function, widened by the scale factor when shrinking, as PIL does. */
const SHARP_KERNELS = { bicubic: 'cubic', bilinear: 'linear' } as const;

/**
 * Shrinks (or keeps the size of) an opaque image with sharp, to 8-bit RGB.
 * fit 'fill' hits the exact target size; kernel 'cubic' is Catmull-Rom (a = −0.5),
 * PIL's BICUBIC, and 'linear' the triangle, PIL's BILINEAR. What remains
 * different: libvips first box-averages by an integer factor, leaving at least
 * 2× for the kernel (vips_resize's default gap, which sharp does not expose),
 * where PIL applies the wide kernel in one go.
 */
async function shrink(source: Sharp, target: Size, fastShrink: boolean, filter: ResampleFilter): Promise<RgbImage> {
  const { data, info } = await source
    .resize(target.width, target.height, { fit: 'fill', kernel: SHARP_KERNELS[filter], fastShrinkOnLoad: fastShrink })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch(rethrowAsDecodeFailure);
  if (info.channels !== 3 || info.width !== target.width || info.height !== target.height) {
    throw unexpectedOutput(info, 3, target);
  }
  return { pixels: data, width: info.width, height: info.height };
}

/**
 * Alpha and CMYK must become RGB before any resize to match PIL: sharp resizes
 * alpha images premultiplied (PIL drops alpha first, without compositing) and
 * converts CMYK through a colour profile (PIL uses a plain formula).
 */
function needsConversionBeforeResize(metadata: Metadata): boolean {
  return metadata.hasAlpha || metadata.space === 'cmyk';
}

/** The whole oriented image as 8-bit RGB, converted the way convert("RGB") does. */
async function fullSizeRgb(input: Sharp, metadata: Metadata): Promise<RgbImage> {
  const cmyk = metadata.space === 'cmyk';
  // Without a resize sharp neither premultiplies nor shrinks on load.
  const decoded = cmyk ? input.pipelineColourspace('cmyk').toColourspace('cmyk') : input;
  const { data, info } = await decoded.removeAlpha().raw().toBuffer({ resolveWithObject: true }).catch(rethrowAsDecodeFailure);
  const channels = cmyk ? 4 : 3;
  if (info.channels !== channels) throw unexpectedOutput(info, channels);
  return { pixels: cmyk ? cmykToRgb(data) : data, width: info.width, height: info.height };
}

/**
 * PIL's cmyk2rgb (libImaging/Convert.c): R = (255 − K) − C·(255 − K)/255 with its
 * MULDIV255 rounding, no colour profile. sharp has already undone Adobe's inversion.
 */
function cmykToRgb(cmyk: Buffer): Uint8Array {
  const pixelCount = cmyk.length / 4;
  const rgb = new Uint8Array(pixelCount * 3);
  for (let p = 0; p < pixelCount; p++) {
    const inverseK = 255 - cmyk[p * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[p * 4 + c] * inverseK + 128;
      rgb[p * 3 + c] = inverseK - (((t >> 8) + t) >> 8);
    }
  }
  return rgb;
}

function unexpectedOutput(got: Size & { channels: number }, channels: number, size: Size = got): Error {
  return new Error(
    `cannot decode image: decoder gave ${got.width}×${got.height}×${got.channels}, expected ${size.width}×${size.height}×${channels}`,
  );
}

function refuseOverLimit(size: Size, maxPixels: number, what: string): void {
  const pixels = size.width * size.height;
  if (pixels > maxPixels) {
    throw new Error(`${what} ${size.width}×${size.height} (${megapixels(pixels)} MP), over the ${megapixels(maxPixels)} MP limit`);
  }
}

function megapixels(pixels: number): string {
  return (pixels / 1e6).toFixed(1);
}

function withTimeout(image: Sharp, seconds: number | undefined): Sharp {
  return seconds ? image.timeout({ seconds: Math.max(1, Math.round(seconds)) }) : image;
}

function openImage(bytes: Buffer, timeoutSeconds: number | undefined): Sharp {
  try {
    return withTimeout(sharp(bytes, INPUT_OPTIONS), timeoutSeconds);
  } catch (err) {
    return rethrowAsDecodeFailure(err);
  }
}

/** Distinct lines of a decoder error worth showing; a fuzzed TIFF can log hundreds. */
const MAX_ERROR_LINES = 3;

/**
 * Callers want one line to put after the file path. sharp passes on libvips'
 * error log: several lines, often repeated, so each distinct line is kept once.
 */
function rethrowAsDecodeFailure(err: unknown): never {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((line) => line.trim().replace(/:$/, ''));
  const distinct = [...new Set(lines.filter(Boolean))];
  const more = distinct.length > MAX_ERROR_LINES ? `; … ${distinct.length - MAX_ERROR_LINES} more` : '';
  throw new Error(`cannot decode image: ${distinct.slice(0, MAX_ERROR_LINES).join('; ')}${more}`, { cause: err });
}
