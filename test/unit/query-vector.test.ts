// The pure parts of "search the way people search": query arithmetic, weighted
// terms, filter validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineQuery, parseWeighted, QueryError } from '../../src/search/query-vector.js';
import { API_FILTER_NAMES, CLI_FILTER_NAMES, FilterError, parseFilter } from '../../src/search/search-filter.js';

const v = (...xs: number[]) => Float32Array.from(xs);
const close = (a: Float32Array, b: number[]) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-6, `${[...a]} vs ${b}`));

test('combineQuery: the normalised weighted sum', () => {
  close(combineQuery([{ vector: v(1, 0, 0), weight: 1 }]), [1, 0, 0]);
  close(
    combineQuery([
      { vector: v(1, 0, 0), weight: 1 },
      { vector: v(0, 1, 0), weight: 1 },
    ]),
    [Math.SQRT1_2, Math.SQRT1_2, 0],
  );
  // beach + 2·sunset: twice as far towards sunset.
  const c = combineQuery([
    { vector: v(1, 0, 0), weight: 1 },
    { vector: v(0, 1, 0), weight: 2 },
  ]);
  close(c, [1 / Math.sqrt(5), 2 / Math.sqrt(5), 0]);
  // Subtracting: red − green, where yellow would be (red + green)/√2.
  const red = v(1, 0, 0);
  const green = v(0, 1, 0);
  const q = combineQuery([
    { vector: red, weight: 1 },
    { vector: green, weight: -1 },
  ]);
  const yellow = [Math.SQRT1_2, Math.SQRT1_2, 0];
  const dot = (a: Float32Array, b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
  assert.ok(dot(q, [1, 0, 0]) > dot(q, yellow));
});

test('combineQuery refuses terms that cancel out, mixed sizes and no terms', () => {
  assert.throws(
    () =>
      combineQuery([
        { vector: v(0.6, 0.8), weight: 1 },
        { vector: v(0.6, 0.8), weight: -1 },
      ]),
    QueryError,
  );
  assert.throws(
    () =>
      combineQuery([
        { vector: v(1, 0), weight: 1 },
        { vector: v(1, 0, 0), weight: 1 },
      ]),
    /different sizes/,
  );
  assert.throws(() => combineQuery([]), /at least one term/);
});

test('parseWeighted: an optional leading positive weight', () => {
  assert.deepEqual(parseWeighted('sunset', '--add'), { weight: 1, value: 'sunset' });
  assert.deepEqual(parseWeighted('2:sunset', '--add'), { weight: 2, value: 'sunset' });
  assert.deepEqual(parseWeighted('0.5:sky at sunset', '--add'), { weight: 0.5, value: 'sky at sunset' });
  assert.deepEqual(parseWeighted('1:10:30 train', '--add'), { weight: 1, value: '10:30 train' });
  assert.deepEqual(parseWeighted('note: red', '--add'), { weight: 1, value: 'note: red' });
  assert.throws(() => parseWeighted('0:red', '--add'), /--add: the weight must be a positive number/);
  assert.throws(() => parseWeighted('2:', '--subtract'), /--subtract: "2:" has no term/);
});

test('parseFilter validates each parameter and names it', () => {
  assert.equal(parseFilter({}, CLI_FILTER_NAMES), null);
  assert.deepEqual(parseFilter({ path: '/photos/2021/', camera: ' Canon ', format: 'JPEG,png' }, CLI_FILTER_NAMES), {
    path: { folder: '/photos/2021' },
    camera: 'Canon',
    formats: ['jpg', 'png'],
  });
  assert.deepEqual(parseFilter({ path: 'holiday/*.jpg' }, CLI_FILTER_NAMES, '/home/me'), { path: { glob: '/home/me/holiday/*.jpg' } });
  assert.deepEqual(parseFilter({ path: 'x' }, CLI_FILTER_NAMES, '/home/me'), { path: { folder: '/home/me/x' } });
  assert.deepEqual(parseFilter({ after: '2021', before: '2021-06-05 14:03' }, CLI_FILTER_NAMES), {
    after: '2021-01-01T00:00:00',
    before: '2021-06-05T14:03:00',
  });
  assert.deepEqual(parseFilter({ minWidth: '640', minHeight: 0 }, CLI_FILTER_NAMES), { minWidth: 640, minHeight: 0 });
  const bad: [Parameters<typeof parseFilter>[0], RegExp][] = [
    [{ after: '2021-02-30' }, /--after must be a date/],
    [{ before: 'yesterday' }, /--before must be a date/],
    [{ after: '2021-06-05', before: '2021-01-01' }, /--after \(2021-06-05\) must be earlier than --before/],
    [{ minWidth: '-3' }, /--min-width must be a whole number/],
    [{ minHeight: '12.5' }, /--min-height must be a whole number/],
    [{ format: ',' }, /--format must be formats/],
    [{ camera: '  ' }, /--camera must not be empty/],
    [{ path: '' }, /--path must not be empty/],
  ];
  for (const [raw, message] of bad)
    assert.throws(
      () => parseFilter(raw, CLI_FILTER_NAMES),
      (err: Error) => err instanceof FilterError && message.test(err.message),
    );
  assert.throws(() => parseFilter({ minWidth: 'wide' }, API_FILTER_NAMES), /^Error: minWidth must be/);
});
