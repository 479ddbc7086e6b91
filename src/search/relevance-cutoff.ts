// The adaptive relevance cut-off: which results of a query are matches. Cosine
// scores mean different things for different models (CLIP's good matches score
// 0.25–0.33, SigLIP's are shifted by its bias, a test model's reach 1.0) and for
// different queries, so no constant serves. Instead each query is calibrated
// against its own scores over a sample of the library, where almost every image
// is unrelated to it:
//
// 1. Two groups: Otsu's method splits the sample where the variance between the
//    two classes is largest. When the classes stand apart — the split is more
//    than BACKGROUND_Z robust spreads (1.4826 × the median absolute deviation)
//    above the low class's median and as far below the high class's — the high
//    class is the matches, however many (the test models' matches score ≈ 1.0
//    against a bulk near 0; in a library that is mostly red, most photos match "red").
// 2. Otherwise the library's bulk is the background: a match must score more
//    than BACKGROUND_Z spreads above the sample's median. What does not stand
//    out from the bulk is not a match; this is what makes a query without real
//    matches (a model with random weights) show few results or none, never all.
//    If the scores above that floor still split into two classes (Otsu among the
//    splits above it), the cut-off goes there.
//
// Pure and cheap: O(n log n) in the sample size, no model runs. Depends only on
// the order and relative distances of the scores, so a model whose scores are
// shifted or scaled (cosine·a + b) gets the same matches.
// The measurements behind the constants are in the README ("How many results")
// and bench/cutoff.ts.

/**
 * How many robust standard deviations a match must stand above the library's
 * median (and two groups apart). Measured with bench:cutoff: on CLIP-shaped
 * synthetic vectors (a query's topic at ≈ 0.35, its related theme, 2% of the
 * library, at ≈ 0.17, the bulk at 0 ± 0.05), 3 keeps 99% of the matches but
 * shows the related theme too (precision 0.45 with 1% matches, 0.05 with 0.1%);
 * 4 keeps 93% at precision 0.75 and 0.19; 5 loses a quarter of the matches (and
 * most of them for some queries). The colour models' results are the same for
 * 3, 4 and 5 (their matches form a group of their own), and with random weights
 * 4 shows nothing for 10 queries where 3 showed 1 or 2 photos.
 */
export const BACKGROUND_Z = 4;

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
  const { median, spread } = robustCentre(sorted);
  // Two groups that stand apart: each is more than z of its own spreads from the split.
  // Then the high group is the matches, however large (a library that is mostly red).
  const split = otsuSplit(sorted);
  if (split !== null) {
    const at = upperBound(sorted, split);
    const low = robustCentre(sorted.subarray(0, at));
    const high = robustCentre(sorted.subarray(at));
    if (split > low.median + z * low.spread && split < high.median - z * high.spread) {
      return { score: split, basis: 'split', median: low.median, spread: low.spread };
    }
  }
  // Otherwise the library's bulk is the background: a match stands out from it,
  // strictly above the median even when the bulk has no spread at all.
  const floor = nextAbove(median + z * spread);
  const above = otsuSplit(sorted, floor);
  return above === null || above <= floor
    ? { score: floor, basis: 'background', median, spread }
    : { score: above, basis: 'split', median, spread };
}

/** The median and the robust spread (1.4826 × the median absolute deviation) of sorted values. */
function robustCentre(sorted: Float64Array): { median: number; spread: number } {
  const median = quantile(sorted, 0.5);
  const deviations = sorted.map((s) => Math.abs(s - median)).sort();
  return { median, spread: MAD_TO_SD * quantile(deviations, 0.5) };
}

/** The number of sorted values below `x`. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
