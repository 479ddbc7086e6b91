// Issue 5 through the HTTP API: combined queries, "more like this" with filters,
// score cut-off, filters that keep K results through the index, duplicates and
// any language, over a library indexed by the real CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawGet } from './server-fixture.js';
import { searchPhotoFolders, writeSearchPhotos } from './search-fixture.js';
import { models, runCli } from './support.js';
import { startServer, type RunningServer } from '../src/server/serve.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-search-api-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const { photos, folderA, folderB } = searchPhotoFolders(work);
const library = join(work, 'library');
const multilingual = join(work, 'multilingual');

interface Body {
  query: string;
  model: string;
  results: { rank: number; id: number; path: string; score: number; thumbnail: string }[];
}

before(async () => {
  await writeSearchPhotos(work);
  // An identical copy: a duplicate for /api/duplicates.
  copyFileSync(join(folderB, 'yellow-0.jpg'), join(folderB, 'yellow-0 copy.jpg'));
  for (const [lib, model] of [
    [library, models.colorClip],
    [multilingual, models.colorClipMultilingual],
  ]) {
    const r = await runCli(['--library', lib, '--model', model, 'index', photos]);
    assert.equal(r.code, 0, r.stderr);
  }
});

let server: RunningServer;
let multilingualServer: RunningServer;
before(async () => {
  server = await startServer({ library, host: '127.0.0.1', port: 0 });
  multilingualServer = await startServer({ library: multilingual, host: '127.0.0.1', port: 0 });
});
after(async () => {
  await server?.close();
  await multilingualServer?.close();
});

function api(_t: unknown, path: string, lib = library) {
  return rawGet(lib === library ? server.url : multilingualServer.url, path);
}
async function ok(t: unknown, path: string, lib = library): Promise<Body> {
  const r = await api(t, path, lib);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json() as Body;
}
const colourOf = (path: string) => /(red|green|blue|yellow)[^/]*$/.exec(path)?.[1];
const q = encodeURIComponent;

test('combined queries: add and subtract texts and catalogued images, with weights', async (t) => {
  const body = await ok(t, '/api/search?q=red&subtract=green&k=100&all=1');
  const colours = body.results.map((r) => colourOf(r.path));
  assert.ok(colours.indexOf('yellow') > colours.lastIndexOf('red'), colours.join(' '));
  assert.deepEqual(
    (await ok(t, `/api/search?q=red&add=${q('3:green')}&k=3`)).results.map((r) => colourOf(r.path)),
    ['green', 'green', 'green'],
  );
  // Repeated parameters add up: red + green + 3·blue leans blue.
  assert.equal(colourOf((await ok(t, `/api/search?q=red&add=green&add=${q('3:blue')}&k=1`)).results[0].path), 'blue');
  const red = (await ok(t, '/api/search?q=red&k=1')).results[0];
  const image = await ok(t, `/api/search?q=green&addImage=${q(`3:${red.id}`)}&k=3`);
  assert.deepEqual(
    image.results.map((r) => colourOf(r.path)),
    ['red', 'red', 'red'],
  );
  const bad = await api(t, `/api/search?q=red&addImage=${q('/etc/passwd')}`);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /addImage must be a catalogue image id/);
  const cancel = await api(t, '/api/search?q=red&subtract=red');
  assert.equal(cancel.status, 400);
  assert.match(cancel.text, /cancel out/);
});

test('threshold and filters on /api/search, K results through the index', async (t) => {
  const cut = await ok(t, '/api/search?q=red&k=100&threshold=0.9');
  assert.ok(cut.results.length > 0 && cut.results.every((r) => r.score >= 0.9 && colourOf(r.path) === 'red'));
  const inA = await ok(t, `/api/search?q=red&k=5&path=${q(folderA)}`);
  assert.equal(inA.results.length, 5);
  assert.ok(inA.results.every((r) => r.path.startsWith(`${folderA}/red-`)));
  const camera = await ok(t, '/api/search?q=red&camera=PICSIFTCAM&after=2021-06-05&before=2021-06-06');
  assert.deepEqual(
    camera.results.map((r) => r.path),
    [join(folderB, 'cam-red.jpg')],
  );
  const png = await ok(t, '/api/search?q=red&format=png&minWidth=400&minHeight=300&all=1');
  assert.deepEqual(
    png.results.map((r) => r.path),
    [join(folderB, 'big-blue.png')],
  );
  for (const [params, message] of [
    ['after=2021-02-30', /after must be a date/],
    ['minWidth=-1', /minWidth must be a whole number/],
    ['minHeight=x', /minHeight must be a whole number/],
    ['format=%2C', /format must be formats/],
    ['threshold=2', /threshold/],
  ] as const) {
    const r = await api(t, `/api/search?q=red&${params}`);
    assert.equal(r.status, 400, `${params}: ${r.text}`);
    assert.match((r.json() as { error: string }).error, message, params);
  }
});

test('/api/similar/:id takes the same threshold and filters, and never returns the image itself', async (t) => {
  const red = (await ok(t, `/api/search?q=red&k=1&path=${q(folderB)}`)).results[0];
  const similar = (await ok(t, `/api/similar/${red.id}?k=5&path=${q(folderA)}`)) as unknown as Body & { id: number };
  assert.equal(similar.id, red.id);
  assert.equal(similar.results.length, 5);
  assert.ok(similar.results.every((r) => r.path.startsWith(`${folderA}/red-`)));
  const all = await ok(t, `/api/similar/${red.id}?k=1000&threshold=0.99`);
  assert.ok(all.results.every((r) => r.id !== red.id && r.score >= 0.99 && colourOf(r.path) === 'red'));
  const bad = await api(t, `/api/similar/${red.id}?before=tomorrow`);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /before must be a date/);
});

test('/api/duplicates lists the identical copy', async (t) => {
  const r = await api(t, '/api/duplicates?threshold=1');
  assert.equal(r.status, 200, r.text);
  const body = r.json() as { threshold: number; groups: { kind: string; images: { path: string; thumbnail: string }[] }[] };
  assert.equal(body.threshold, 1);
  // color-clip sees every yellow as the same colour, so at cosine ≥ 1 the copy may share a near group with them.
  const group = body.groups.find((g) => g.images.some((i) => i.path === join(folderB, 'yellow-0 copy.jpg')));
  assert.ok(group, JSON.stringify(body.groups));
  assert.ok(group.images.some((i) => i.path === join(folderB, 'yellow-0.jpg')));
  assert.ok(group.images.every((i) => /^\/api\/images\/\d+\/thumbnail$/.test(i.thumbnail)));
  assert.equal((await api(t, '/api/duplicates?threshold=7')).status, 400);
});

test('any language: a Hebrew query returns the same results as "red" through the API', async (t) => {
  const english = await ok(t, '/api/search?q=red&k=12', multilingual);
  const hebrew = await ok(t, `/api/search?q=${q('אדום')}&k=12`, multilingual);
  assert.equal(hebrew.query, 'אדום');
  assert.equal(english.results.length, 12);
  assert.deepEqual(hebrew.results, english.results);
});
