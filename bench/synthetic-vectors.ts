// Deterministic synthetic embeddings shaped like CLIP's, for the index and query
// benchmarks: any vector can be regenerated from its number alone, so a million
// of them never need to be held in memory at once.
//
// Image vectors: normalize(√.35·g + √.2·S_j + √.2·C_k + √.25·u): g one shared
// direction (CLIP image embeddings share a large common component), S_j the
// theme (one of 50) and C_k the topic (one of `clusters`, 40 per theme) of the
// image, u its own variation. The variation has a decaying spectrum (standard
// deviation (i+1)^-noiseDecay along axis i; 0.5 gives about 28 effective
// dimensions), as real embeddings vary along far fewer directions than they
// have; noiseDecay 0 makes it isotropic. Images of one topic have cosine ≈ 0.8,
// of one theme ≈ 0.6, unrelated ≈ 0.4.
// Query vectors model text embeddings across CLIP's modality gap:
// normalize(√.45·t + √.15·S_j + √.15·C_k + √.25·u) with t a "text" direction:
// images of the query's topic score ≈ 0.35, of its theme ≈ 0.17, others ≈ 0, and
// the top ten among a topic's images differ only by their variation — the
// near-ties of real text queries.

export interface SyntheticSpace {
  dims: number;
  clusters: number;
  seed: number;
  noiseDecay: number;
}

/** splitmix64 on a 32-bit lane pair, enough for reproducible, well-mixed streams. */
function mix(seed: number, n: number): () => number {
  let a = (seed ^ Math.imul(n, 0x9e3779b1)) >>> 0;
  let b = (Math.imul(n ^ 0x85ebca6b, 0xc2b2ae35) + seed) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a ^ b;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    b = (b + 0x9e3779b9) >>> 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `out` ← standard normal samples (Box–Muller), from the stream `random`. */
function gaussian(out: Float32Array, random: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    out[i] = r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
  }
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

const THEMES = 50;

export class SyntheticVectors {
  private readonly imageShared: Float32Array;
  private readonly textShared: Float32Array;
  private readonly themes: Float32Array[];
  private readonly topics: Float32Array[];
  private readonly noise: Float32Array;
  private readonly spectrum: Float32Array;

  constructor(readonly space: SyntheticSpace) {
    const direction = (n: number): Float32Array => {
      const v = new Float32Array(space.dims);
      gaussian(v, mix(space.seed, n));
      return unit(v);
    };
    this.imageShared = direction(-1);
    this.textShared = direction(-2);
    this.themes = Array.from({ length: THEMES }, (_, j) => direction(-3 - j));
    this.topics = Array.from({ length: space.clusters }, (_, k) => direction(-3 - THEMES - k));
    this.noise = new Float32Array(space.dims);
    this.spectrum = Float32Array.from({ length: space.dims }, (_, i) => (i + 1) ** -space.noiseDecay);
  }

  /** Image vector number `n` (0, 1, …) written into out[offset…]. */
  image(n: number, out: Float32Array, offset = 0): void {
    this.compose(n, 0x1000_0000, this.imageShared, [0.35, 0.2, 0.2, 0.25], out, offset);
  }

  /** Query vector number `n`: a different stream from the images. */
  query(n: number, out: Float32Array, offset = 0): void {
    this.compose(n, 0x2000_0000, this.textShared, [0.45, 0.15, 0.15, 0.25], out, offset);
  }

  /** The topic (0 … clusters − 1) of image number `n`: its true matches for a query of the same topic. */
  imageTopic(n: number): number {
    return Math.floor(mix(this.space.seed ^ 0x1000_0000, n)() * this.topics.length);
  }

  /** The topic of query number `n`. */
  queryTopic(n: number): number {
    return Math.floor(mix(this.space.seed ^ 0x2000_0000, n)() * this.topics.length);
  }

  imageVector(n: number): Float32Array {
    const v = new Float32Array(this.space.dims);
    this.image(n, v);
    return v;
  }

  /** weights: the squared shares of the shared direction, theme, topic and own variation. */
  private compose(n: number, stream: number, shared: Float32Array, weights: number[], out: Float32Array, offset: number): void {
    const [a, b, c, e] = weights.map(Math.sqrt);
    const random = mix(this.space.seed ^ stream, n);
    const k = Math.floor(random() * this.topics.length);
    const topic = this.topics[k];
    const theme = this.themes[k % THEMES];
    gaussian(this.noise, random);
    for (let i = 0; i < this.noise.length; i++) this.noise[i] *= this.spectrum[i];
    unit(this.noise);
    const dims = this.space.dims;
    let s = 0;
    for (let i = 0; i < dims; i++) {
      const x = a * shared[i] + b * theme[i] + c * topic[i] + e * this.noise[i];
      out[offset + i] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < dims; i++) out[offset + i] *= inv;
  }
}
