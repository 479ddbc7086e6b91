// The adaptive relevance cut-off: which results of a query are matches. Cosine
// scores mean different things for different models (CLIP's good matches score
// 0.25–0.33, SigLIP's are shifted by its bias, a test model's reach 1.0) and for
// different queries, so no constant serves. Instead each query is calibrated
// against its own scores over a sample of the library, where almost every image
// is unrelated to it:
//
// 1. The background: the sample's median score and its robust spread (1.4826 ×
//    the median absolute deviation, the standard deviation of a normal bulk).
//    A match must score at least BACKGROUND_Z spreads above the median: what
//    does not stand out from the bulk of the library is not a match. This is
//    what makes a query without real matches (a model with random weights, a
//    word the model does not know) show few results or none, never all.
// 2. The split: when the scores above that floor form a separate high group
//    (the test models' matches score ≈ 1.0 against a bulk near 0), the cut-off
//    goes where Otsu's method splits the sample into two classes with the most
//    variance between them, among the splits at or above the floor.
//
// Pure and cheap: O(n log n) in the sample size, no model runs. Depends only on
// the order and relative distances of the scores, so a model whose scores are
// shifted or scaled (cosine·a + b) gets the same matches.
// The measurements behind the constants are in the README ("How many results")
// and bench/cutoff.ts.

/** How many robust standard deviations above the library's median a match must score. */
export const BACKGROUND_Z = 3;

/** Below this many sample scores there is no background to calibrate against: every result counts as a match. */
export const MIN_CALIBRATION_SAMPLE = 16;

/** 1 / Φ⁻¹(3/4): turns a median absolute deviation into a standard deviation for normal data. */
const MAD_TO_SD = 1.4826;

export interface RelevanceCutoff {
  /** Results scoring at or above this are matches. -1 (everything) when the sample is too small to calibrate. */
  score: number;
  /**
   * How it was set: 'split' (a separate high group), 'background' (the floor
   * above the library's bulk), 'uncalibrated' (too few images to tell).
   */
  basis: 'split' | 'background' | 'uncalibrated';
  /** The query's median score over the sample, and the robust spread around it. */
  median: number;
  spread: number;
}

/**
 * The cut-off for one query, from its scores over a sample of the library (the
 * whole library when it is small). The scores need not be sorted.
 */
export function relevanceCutoff(sampleScores: ArrayLike<number>, z = BACKGROUND_Z): RelevanceCutoff {
  const sorted = Float64Array.from(sampleScores).sort();
  const n = sorted.length;
  if (n < MIN_CALIBRATION_SAMPLE) {
    return { score: -1, basis: 'uncalibrated', median: n ? quantile(sorted, 0.5) : 0, spread: 0 };
  }
  const median = quantile(sorted, 0.5);
  const deviations = sorted.map((s) => Math.abs(s - median)).sort();
  const spread = MAD_TO_SD * quantile(deviations, 0.5);
  // Strictly above the median even when the bulk has no spread at all (identical
  // scores): a match must stand out, so at most half the library ever does.
  const floor = nextAbove(median + z * spread);
  const split = otsuSplit(sorted, floor);
  return split === null || split <= floor
    ? { score: floor, basis: 'background', median, spread }
    : { score: split, basis: 'split', median, spread };
}

/**
 * Otsu's threshold over sorted scores, restricted to thresholds ≥ `floor`: the
 * midpoint between two consecutive distinct scores that maximises the
 * between-class variance w₀·w₁·(μ₀ − μ₁)². Null when no candidate reaches `floor`.
 */
export function otsuSplit(sorted: ArrayLike<number>, floor = -Infinity): number | null {
  const n = sorted.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += sorted[i];
  let below = 0;
  let best = -1;
  let threshold: number | null = null;
  for (let i = 1; i < n; i++) {
    below += sorted[i - 1];
    if (sorted[i] === sorted[i - 1]) continue;
    const t = (sorted[i - 1] + sorted[i]) / 2;
    if (t < floor) continue;
    const w0 = i / n;
    const mean0 = below / i;
    const mean1 = (total - below) / (n - i);
    const between = w0 * (1 - w0) * (mean0 - mean1) ** 2;
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  return threshold;
}

/** The p-quantile of sorted values (lower median for p = 0.5 and an even count). */
function quantile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.floor(p * (sorted.length - 1))];
}

/** A value just above x (scores are within [-1, 1], where this is at least one ulp): a cut-off at the median itself would admit the median. */
function nextAbove(x: number): number {
  return x + (Math.abs(x) + 1) * Number.EPSILON;
}
