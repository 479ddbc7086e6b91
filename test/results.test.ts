// Issue 14 through the real command line and the HTTP API: the default cut-off
// shows the matches and only them, --all shows the whole ranking, --sort orders
// the matches by date taken, and a query the model cannot read says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { IndexSource } from '../src/app/index-source.js';
import { libraryPaths } from '../src/app/library.js';
import { ModelLoader } from '../src/app/model-loader.js';
import { SearchService } from '../src/app/search-service.js';
import { addImages, testLibrary } from './catalog-fixture.js';
import { rawGet } from './server-fixture.js';
import { COLOURS, models, runCli, sharedDir, writeSolidJpeg } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-results-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const colours = join(work, 'colours');
const photos = join(sharedDir, 'data', 'photos');
const library = join(work, 'library');
const PER_COLOUR = 8;

interface Result {
  rank: number;
  id: number;
  path: string;
  score: number;
  date: string;
  match: boolean;
}
interface Body {
  query: string;
  model: string;
  cutoff: { score: number; source: string };
  matches: number;
  weaker: number;
  sort: string;
  notice?: { code: string; scripts: string[]; suggestedModel: string; message: string };
  results: Result[];
}

/** Red photos dated one month apart (file time), plus two with an EXIF date taken that differs from their file time. */
const redDates = Array.from({ length: PER_COLOUR }, (_, i) => new Date(2020, i, 15, 12, 0, 0));

let server: RunningServer;
before(async () => {
  mkdirSync(colours);
  for (const [name, rgb] of Object.entries(COLOURS)) {
    for (let i = 0; i < PER_COLOUR; i++) {
      const shade = rgb.map((c) => Math.max(0, Math.min(255, c + (i - 4) * 5))) as [number, number, number];
      const path = join(colours, `${name}-${i}.jpg`);
      await writeSolidJpeg(path, shade, 120 + 10 * i, 90);
      if (name === 'red') utimesSync(path, redDates[i], redDates[i]);
    }
  }
  // Taken in 2019 and 2023 by the camera's clock, whatever the file's time says.
  for (const [file, taken] of [
    ['red-exif-2019.jpg', '2019:03:01 09:30:00'],
    ['red-exif-2023.jpg', '2023:07:04 18:00:00'],
  ]) {
    await sharp({ create: { width: 100, height: 80, channels: 3, background: { r: 228, g: 22, b: 28 } } })
      .withExif({ IFD0: { Make: 'PicsiftCam', Model: 'R1' }, IFD2: { DateTimeOriginal: taken } })
      .jpeg()
      .toFile(join(colours, file));
    utimesSync(join(colours, file), new Date(2021, 0, 1), new Date(2021, 0, 1));
  }
  const indexed = await runCli(['--library', library, '--model', models.colorClip, 'index', colours, photos]);
  assert.equal(indexed.code, 0, indexed.stderr);
  server = await startServer({ library, host: '127.0.0.1', port: 0 });
});
after(() => server?.close());

async function cliJson(...args: string[]): Promise<Body> {
  const r = await runCli(['--library', library, ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Body;
}

async function apiJson(path: string): Promise<Body> {
  const r = await rawGet(server.url, path);
  assert.equal(r.status, 200, r.text);
  return r.json() as Body;
}

const reds = PER_COLOUR + 2;
const isColour = (path: string, colour: string): boolean => path.startsWith(join(colours, `${colour}-`));

test('the default cut-off on "red" shows only the reds; --all shows the whole ranking with the cut-off marked', async () => {
  const body = await cliJson('search-text', 'red', '-n', '100');
  assert.equal(body.cutoff.source, 'adaptive');
  const colourResults = body.results.filter((r) => r.path.startsWith(`${colours}/`));
  assert.equal(colourResults.length, reds, 'every red colour photo, and no other colour photo');
  assert.ok(colourResults.every((r) => isColour(r.path, 'red')));
  assert.ok(body.results.every((r) => r.match && r.score >= body.cutoff.score));
  assert.equal(body.matches, body.results.length);
  // Real photos that show up are the ones whose mean colour is red: the model measures colour.
  for (const r of body.results.filter((x) => !x.path.startsWith(`${colours}/`))) assert.ok(r.score > 0.6, `${r.path} ${r.score}`);
  assert.equal(body.weaker, 100 - body.results.length);

  const all = await cliJson('search-text', 'red', '-n', '100', '--all');
  assert.equal(all.results.length, 100);
  assert.deepEqual(
    all.results.map((r) => r.rank),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    all.results.filter((r) => r.match).map((r) => r.id),
    body.results.map((r) => r.id),
  );
  assert.ok(all.results.slice(body.results.length).every((r) => !r.match && r.score < all.cutoff.score));

  const text = await runCli(['--library', library, 'search-text', 'red', '-n', '100']);
  assert.equal(text.stdout.trimEnd().split('\n').length, body.results.length);
  assert.match(
    text.stderr,
    new RegExp(
      `${body.results.length} matches · ${100 - body.results.length} more with --all \\(cut-off 0\\.\\d{4}, adapted to this query\\)`,
    ),
  );
  const textAll = await runCli(['--library', library, 'search-text', 'red', '-n', '100', '--all']);
  const lines = textAll.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 101);
  assert.match(lines[body.results.length], /^ +---- below the cut-off 0\.\d{4}, adapted to this query ----$/);
});

test('--threshold replaces the adaptive cut-off; search-image has its cut-off too', async () => {
  const fixed = await cliJson('search-text', 'red', '-n', '200', '--threshold', '0.99');
  assert.deepEqual(fixed.cutoff, { score: 0.99, source: 'threshold' });
  assert.ok(fixed.results.length > 0 && fixed.results.every((r) => r.score >= 0.99));
  const image = await cliJson('search-image', join(colours, 'blue-3.jpg'), '-n', '100');
  assert.equal(image.cutoff.source, 'adaptive');
  const blues = image.results.filter((r) => r.path.startsWith(`${colours}/`));
  assert.equal(blues.length, PER_COLOUR);
  assert.ok(blues.every((r) => isColour(r.path, 'blue')));
});

test('--sort newest and oldest order the matches by date taken: EXIF first, else the file time', async () => {
  const byScore = await cliJson('search-text', 'red', '-n', '100');
  const newest = await cliJson('search-text', 'red', '-n', '100', '--sort', 'newest');
  assert.equal(newest.sort, 'newest');
  assert.deepEqual(new Set(newest.results.map((r) => r.id)), new Set(byScore.results.map((r) => r.id)), 'the same matches');
  const dates = newest.results.map((r) => r.date);
  assert.deepEqual(dates, [...dates].sort().reverse());
  const redOrder = newest.results.filter((r) => r.path.startsWith(`${colours}/`)).map((r) => r.path.slice(colours.length + 1));
  assert.deepEqual(redOrder, [
    'red-exif-2023.jpg',
    ...Array.from({ length: PER_COLOUR }, (_, i) => `red-${PER_COLOUR - 1 - i}.jpg`),
    'red-exif-2019.jpg',
  ]);
  const exif = newest.results.find((r) => r.path.endsWith('red-exif-2023.jpg'))!;
  assert.equal(exif.date, '2023-07-04T18:00:00');
  assert.equal(newest.results.find((r) => r.path.endsWith('red-2.jpg'))!.date, '2020-03-15T12:00:00');

  // Among the colour photos alone (the real photos that match "red" have dates of their own).
  const oldest = await cliJson('search-text', 'red', '-n', '3', '--sort', 'oldest', '--path', colours);
  assert.deepEqual(
    oldest.results.map((r) => r.path.slice(colours.length + 1)),
    ['red-exif-2019.jpg', 'red-0.jpg', 'red-1.jpg'],
  );
  // The ranks stay the ranks by score.
  assert.ok(oldest.results.every((r) => byScore.results.find((b) => b.id === r.id)?.rank === r.rank));
  const text = await runCli(['--library', library, 'search-text', 'red', '-n', '2', '--sort', 'oldest', '--path', colours]);
  assert.match(text.stdout, /^ +\d+ +1\.0000 +2019-03-01 09:30:00 +\/.*red-exif-2019\.jpg\n/);
  assert.match(text.stderr, new RegExp(`2 of ${reds} matches shown · raise -n for more`));
  const bad = await runCli(['--library', library, 'search-text', 'red', '--sort', 'sideways']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--sort.*sideways.*score, newest, oldest/);
});

test('the API answers the same: all, threshold and sort, with the cut-off and a match flag per result', async () => {
  const cli = await cliJson('search-text', 'red', '-n', '30');
  const api = await apiJson('/api/search?q=red&k=30');
  assert.deepEqual(
    api.results.map(({ thumbnail: _, ...r }: Result & { thumbnail?: string }) => r),
    cli.results,
  );
  assert.deepEqual([api.cutoff, api.matches, api.weaker, api.sort], [cli.cutoff, cli.matches, cli.weaker, 'score']);
  const all = await apiJson('/api/search?q=red&k=30&all=1');
  assert.equal(all.results.length, 30);
  assert.ok(all.results.some((r) => !r.match));
  const newest = await apiJson(`/api/search?q=red&k=100&sort=newest&path=${encodeURIComponent(colours)}`);
  assert.equal(newest.results[0].path, join(colours, 'red-exif-2023.jpg'));
  assert.deepEqual(
    newest.results.map((r) => r.id),
    (await cliJson('search-text', 'red', '-n', '100', '--sort', 'newest', '--path', colours)).results.map((r) => r.id),
  );
  const fixed = await apiJson('/api/search?q=red&k=100&threshold=0.999');
  assert.equal(fixed.cutoff.source, 'threshold');
  const similar = await apiJson(`/api/similar/${cli.results[0].id}?k=100`);
  assert.ok(similar.results.every((r) => r.match));
  assert.ok(similar.results.filter((r) => r.path.startsWith(`${colours}/`)).every((r) => isColour(r.path, 'red')));
  for (const [query, message] of [
    ['sort=sideways', /sort must be equal to one of the allowed values/],
    ['all=maybe', /all must be equal to one of the allowed values/],
  ] as const) {
    const r = await rawGet(server.url, `/api/search?q=red&${query}`);
    assert.equal(r.status, 400, query);
    assert.match((r.json() as { error: string }).error, message);
  }
});

test('a Hebrew query on an English-only model runs and says so; multilingual models say nothing', async () => {
  const hebrew = await runCli(['--library', library, 'search-text', 'אדום', '-n', '3']);
  assert.equal(hebrew.code, 0, hebrew.stderr);
  assert.match(hebrew.stderr, /model .*color-clip reads English only/);
  assert.match(hebrew.stderr, /onnx-community\/siglip2-base-patch16-224-ONNX/);
  assert.match(hebrew.stderr, /picsift reembed --model onnx-community\/siglip2-base-patch16-224-ONNX --switch/);
  const body = await apiJson(`/api/search?q=${encodeURIComponent('אדום')}&k=3`);
  assert.deepEqual(
    [body.notice?.code, body.notice?.scripts, body.notice?.suggestedModel],
    ['unread-script', ['Hebrew'], 'onnx-community/siglip2-base-patch16-224-ONNX'],
  );
  assert.equal((await apiJson('/api/search?q=red&k=3')).notice, undefined, 'English needs no notice');
  assert.match((await cliJson('search-text', 'красный', '-n', '1')).notice!.message, /Cyrillic/);

  for (const model of [models.colorClipMultilingual, models.colorSiglip]) {
    const lib = join(work, `lib-${model.split('/').pop()}`);
    const indexed = await runCli(['--library', lib, '--model', model, 'index', colours]);
    assert.equal(indexed.code, 0, indexed.stderr);
    for (const query of ['אדום', 'أحمر', 'красный', '红']) {
      const r = await runCli(['--library', lib, 'search-text', query, '--json', '-n', '20']);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /reads English only|not trained on/, `${model}: ${query}`);
      const out = JSON.parse(r.stdout) as Body;
      assert.equal(out.notice, undefined);
      assert.deepEqual(new Set(out.results.map((x) => x.path.slice(colours.length + 1).split('-')[0])), new Set(['red']), query);
    }
  }
});

test('a library being filled is calibrated on what it holds now, not on the few photos of the first search', async (t) => {
  const lib = await testLibrary(t, 3);
  await addImages(lib.catalog, 0, 10, (id) => unitVector(id % 2 ? [1, 0, 0] : [0, 1, 0]));
  const service = new SearchService(
    lib.catalog,
    new IndexSource(lib.indexDir, lib.catalog),
    new ModelLoader(libraryPaths(lib.dir), () => {}),
    {},
  );
  t.after(() => service.close());
  const first = (await service.similar(1, { k: 100 }))!;
  assert.equal(first.cutoff.source, 'uncalibrated', 'ten photos are too few to tell matches apart');
  assert.equal(first.results.length, 9);
  await addImages(lib.catalog, 10, 40, (id) => unitVector(id % 2 ? [1, 0, 0] : [0, 1, 0]));
  const later = (await service.similar(1, { k: 100 }))!;
  assert.equal(later.cutoff.source, 'adaptive', 'the sample of the small library was drawn again');
  assert.ok(later.results.length > 0 && later.results.every((r) => r.score > 0.99), 'the photos like it, and only them');
});

function unitVector(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}
