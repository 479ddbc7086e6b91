// The relevance cut-off on score distributions of known shape: separated groups,
// a bulk with no matches, a bulk with a tail of matches, and the degenerate cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKGROUND_Z, MIN_CALIBRATION_SAMPLE, otsuSplit, relevanceCutoff } from '../../src/search/relevance-cutoff.js';
import { seededRandom } from '../support.js';

/** Standard normal samples (Box–Muller), reproducible. */
function normal(seed: number, n: number, mean = 0, sd = 1): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

const above = (scores: number[], cut: number): number => scores.filter((s) => s >= cut).length;

test('two separated groups: the cut falls between them, so the high group is exactly the matches', () => {
  // The colour model's shape: most images near 0 for "red", the reds near 1, a few mixed ones between.
  const scores = [...normal(1, 250, 0.01, 0.005), ...normal(2, 40, 0.99, 0.01), 0.2, 0.3, 0.35];
  const cut = relevanceCutoff(scores);
  assert.equal(cut.basis, 'split');
  assert.ok(cut.score > 0.35 && cut.score < 0.9, `cut ${cut.score}`);
  assert.equal(above(scores, cut.score), 40);
});

test('a bulk with no matches (random weights): few or none above, never many', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const scores = normal(seed, 2048, 0.02, 0.015);
    const cut = relevanceCutoff(scores);
    assert.ok(above(scores, cut.score) <= 10, `seed ${seed}: ${above(scores, cut.score)} of 2048 above ${cut.score}`);
  }
  // A lumpy bulk (photos and flat drawings score a little differently for any text), as
  // the random-weight CLIP ViT-B/32 scores the test library: still only a few outliers.
  const lumpy = [...normal(3, 1500, -0.02, 0.015), ...normal(4, 548, 0.01, 0.01)];
  assert.ok(above(lumpy, relevanceCutoff(lumpy).score) <= 10, `${above(lumpy, relevanceCutoff(lumpy).score)} above`);
});

test('a bulk with a tail of real matches (CLIP-like): the matches are in, the bulk is out', () => {
  const bulk = normal(5, 1980, 0.2, 0.02);
  const matches = normal(6, 20, 0.31, 0.01);
  const scores = [...bulk, ...matches];
  const cut = relevanceCutoff(scores);
  assert.ok(above(matches, cut.score) >= 19, `${above(matches, cut.score)} of 20 matches above ${cut.score}`);
  assert.ok(above(bulk, cut.score) <= 5, `${above(bulk, cut.score)} of the bulk above ${cut.score}`);
  assert.ok(cut.score >= cut.median + BACKGROUND_Z * cut.spread);
});

test('shifting or scaling every score (another model family) selects the same results', () => {
  const scores = [...normal(7, 300, 0.1, 0.03), ...normal(8, 30, 0.6, 0.05)];
  const base = relevanceCutoff(scores);
  for (const [a, b] of [
    [0.3, -0.2],
    [2, 0.5],
    [0.05, 0.1],
  ]) {
    const moved = scores.map((s) => a * s + b);
    const cut = relevanceCutoff(moved);
    assert.deepEqual(
      moved.map((s) => s >= cut.score),
      scores.map((s) => s >= base.score),
      `a=${a} b=${b}`,
    );
  }
});

test('identical scores: nothing stands out, so nothing is a match', () => {
  const flat = Array(100).fill(0.25);
  assert.equal(above(flat, relevanceCutoff(flat).score), 0);
});

test('a library that mostly matches (two thirds red): every match, not none', () => {
  const scores = [...normal(10, 200, 0.995, 0.003), ...normal(11, 100, 0.02, 0.01)];
  const cut = relevanceCutoff(scores);
  assert.equal(cut.basis, 'split');
  assert.equal(above(scores, cut.score), 200);
});

test('too few scores to calibrate: every result counts as a match', () => {
  const cut = relevanceCutoff([0.9, 0.1, 0.5]);
  assert.deepEqual([cut.score, cut.basis], [-1, 'uncalibrated']);
  assert.equal(relevanceCutoff(normal(9, MIN_CALIBRATION_SAMPLE)).basis === 'uncalibrated', false);
  assert.equal(relevanceCutoff([]).basis, 'uncalibrated');
});

test('otsuSplit: the midpoint between two classes, never below the floor', () => {
  assert.equal(otsuSplit([0, 0, 0, 1, 1, 1]), 0.5);
  assert.equal(otsuSplit([0, 0.1, 0.2, 0.9, 1.0]), 0.55);
  assert.equal(otsuSplit([0, 0.1, 0.2, 0.9, 1.0], 0.6), 0.95);
  assert.equal(otsuSplit([0, 0.1], 0.5), null);
  assert.equal(otsuSplit([0.3, 0.3, 0.3]), null);
});
