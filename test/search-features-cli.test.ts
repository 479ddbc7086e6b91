// Issue 5 through the real command line: combined queries, image queries, score
// cut-off, filters (through the ANN index), EXIF, duplicates and any language,
// with the honest color-clip models, real files, SQLite and ONNX.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { COLOURS, models, runCli, writeSolidJpeg } from './support.js';
import { searchPhotoFolders, writeSearchPhotos } from './search-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-search-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const library = join(work, 'library');
const { folderA, folderB, outside } = searchPhotoFolders(work);

before(async () => {
  await writeSearchPhotos(work);
  const r = await runCli(['--library', library, '--model', models.colorClip, 'index', join(work, 'photos')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /built index/);
});

const cli = (...args: string[]) => runCli(['--library', library, ...args]);

/** The whole ranking (--all): these tests are about ranking and filtering, not the relevance cut-off. */
async function searchJson(args: string[], env: Record<string, string> = {}, all = true) {
  const r = await runCli(['--library', library, ...args, '--json', ...(all ? ['--all'] : [])], env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    query: string;
    model: string;
    results: { rank: number; id: number; path: string; score: number; match: boolean }[];
  };
  assert.deepEqual(Object.keys(out), ['query', 'model', 'cutoff', 'matches', 'weaker', 'sort', 'results']);
  return out;
}

const name = (path: string) => path.slice(join(work, 'photos').length + 1);
const colourOf = (path: string) => /(?:^|\/|-)(red|green|blue|yellow)/.exec(name(path).replace(/^[ab]\//, ''))?.[1] ?? name(path);

test('search-text red --subtract green ranks pure red above yellow; weights steer the mix', async () => {
  const out = await searchJson(['search-text', 'red', '--subtract', 'green', '-n', '100']);
  const colours = out.results.map((r) => colourOf(r.path));
  const lastRed = colours.lastIndexOf('red');
  const firstYellow = colours.indexOf('yellow');
  assert.ok(lastRed >= 0 && firstYellow > lastRed, `order: ${colours.join(' ')}`);
  assert.ok(colours.indexOf('green') > firstYellow, 'subtracted green comes last');
  assert.equal(out.query, 'red');

  const towardsGreen = await searchJson(['search-text', 'red', '--add', '3:green', '-n', '3']);
  assert.deepEqual(
    towardsGreen.results.map((r) => colourOf(r.path)),
    ['green', 'green', 'green'],
  );
  const towardsRed = await searchJson(['search-text', 'green', '--add', '3:red', '-n', '3']);
  assert.deepEqual(
    towardsRed.results.map((r) => colourOf(r.path)),
    ['red', 'red', 'red'],
  );
  // An image term: green plus three times a red file outside the library.
  const withImage = await searchJson(['search-text', 'green', '--add-image', `3:${join(outside, 'query-red.jpg')}`, '-n', '3']);
  assert.deepEqual(
    withImage.results.map((r) => colourOf(r.path)),
    ['red', 'red', 'red'],
  );
  const awayFromImage = await searchJson([
    'search-text',
    'red',
    '--subtract-image',
    join(folderB, 'red-0.jpg'),
    '--add',
    'yellow',
    '-n',
    '1',
  ]);
  assert.equal(colourOf(awayFromImage.results[0].path), 'yellow');
});

test('search-image with a red file returns red images first and does not add the file to the library', async () => {
  const before = JSON.parse((await cli('status', '--json')).stdout).images;
  const out = await searchJson(['search-image', join(outside, 'query-red.jpg'), '-n', '10']);
  assert.equal(out.results.length, 10);
  assert.ok(
    out.results.every((r) => colourOf(r.path) === 'red'),
    out.results.map((r) => r.path).join('\n'),
  );
  assert.ok(out.results[0].score > 0.99);
  assert.equal(JSON.parse((await cli('status', '--json')).stdout).images, before);

  const text = await cli('search-image', join(outside, 'query-red.jpg'), '-n', '2');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout.split('\n')[0], /^\s+1\s+[01]\.\d{4}\s+\/.*red.*\.jpg$/);
});

test('search-image with a catalogue id uses its stored vector and leaves it out', async () => {
  const first = (await searchJson(['search-text', 'blue', '-n', '1'])).results[0];
  // Six blue photos in the library: the other five come first.
  const out = await searchJson(['search-image', String(first.id), '-n', '5']);
  assert.equal(out.results.length, 5);
  assert.ok(!out.results.some((r) => r.id === first.id));
  assert.ok(
    out.results.every((r) => colourOf(r.path) === 'blue'),
    out.results.map((r) => r.path).join('\n'),
  );
  const missing = await cli('search-image', '99999');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no image with id 99999/);
  const nonsense = await cli('search-image', join(work, 'no-such.jpg'));
  assert.equal(nonsense.code, 1);
  assert.match(nonsense.stderr, /neither an image file nor a catalogue id/);
});

test('--threshold drops results scoring below it', async () => {
  const all = await searchJson(['search-text', 'red', '-n', '100']);
  const above = await searchJson(['search-text', 'red', '-n', '100', '--threshold', '0.9'], {}, false);
  assert.ok(above.results.length > 0 && above.results.length < all.results.length);
  assert.ok(above.results.every((r) => r.score >= 0.9 && colourOf(r.path) === 'red'));
  assert.equal(above.results.length, all.results.filter((r) => r.score >= 0.9).length);
  const image = await searchJson(['search-image', join(outside, 'query-red.jpg'), '--threshold', '0.999999', '-n', '100'], {}, false);
  assert.ok(image.results.every((r) => r.score >= 0.999999));
  const bad = await cli('search-text', 'red', '--threshold', 'high');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--threshold must be a cosine score/);
});

test('--path limits to one folder and still returns K results through the ANN index', async () => {
  // Force the index path for any filtered set (the library is small).
  const viaIndex = { PICSIFT_EXACT_LIMIT: '0' };
  const unfiltered = await searchJson(['search-text', 'red', '-n', '5'], viaIndex);
  assert.ok(unfiltered.results.filter((r) => r.path.startsWith(`${folderA}/`)).length < 5, 'the unfiltered top 5 are not all in a');
  for (const env of [viaIndex, {}]) {
    const out = await searchJson(['search-text', 'red', '-n', '5', '--path', folderA], env);
    assert.equal(out.results.length, 5);
    assert.ok(
      out.results.every((r) => r.path.startsWith(`${folderA}/red-`)),
      out.results.map((r) => r.path).join('\n'),
    );
  }
  // A glob, and a relative folder resolved against the working directory.
  const glob = await searchJson(['search-text', 'green', '-n', '10', '--path', `${join(work, 'photos')}/*/green-*`], viaIndex);
  assert.equal(glob.results.length, 8);
  assert.ok(glob.results.every((r) => /\/green-\d\.jpg$/.test(r.path)));
  const image = await searchJson(['search-image', join(outside, 'query-red.jpg'), '-n', '20', '--path', folderA], viaIndex);
  assert.equal(image.results.length, 8 + 3);
  assert.deepEqual(new Set(image.results.slice(0, 8).map((r) => colourOf(r.path))), new Set(['red']));
});

test('--camera, --after/--before, --min-width/--min-height and --format filter every search', async () => {
  const camera = await searchJson(['search-text', 'red', '--camera', 'picsiftcam']);
  assert.deepEqual(
    camera.results.map((r) => name(r.path)),
    ['b/cam-red.jpg', 'b/cam-green.jpg'],
  );
  const model = await searchJson(['search-text', 'red', '--camera', 'MODEL 7']);
  assert.equal(model.results.length, 3);
  const day = await searchJson(['search-text', 'green', '--after', '2021-06-05', '--before', '2021-06-06']);
  assert.deepEqual(day.results.map((r) => name(r.path)).sort(), ['b/cam-red.jpg', 'b/other-red.jpg']);
  const afternoon = await searchJson(['search-text', 'red', '--after', '2021-06-05T12:00', '--before', '2022']);
  assert.deepEqual(
    afternoon.results.map((r) => name(r.path)),
    ['b/cam-red.jpg'],
  );
  // Photos without EXIF are dated by their file time: written minutes ago.
  const recent = await searchJson(['search-text', 'red', '--after', String(new Date().getFullYear() - 1), '-n', '1000']);
  assert.equal(recent.results.length, 8 + 3 + 30 + 15 + 1);
  const wide = await searchJson(['search-image', join(outside, 'query-red.jpg'), '--min-width', '100', '--min-height', '60']);
  // Only b's reds 20–29 (100+ × 60) and the 400 × 300 PNG are that large; the reds rank first.
  const wideNames = wide.results.map((r) => name(r.path));
  assert.deepEqual(new Set(wideNames.slice(0, 10)), new Set(Array.from({ length: 10 }, (_, i) => `b/red-${20 + i}.jpg`)));
  assert.deepEqual(wideNames.slice(10), ['b/big-blue.png']);
  const png = await searchJson(['search-text', 'red', '--format', 'PNG']);
  assert.deepEqual(
    png.results.map((r) => name(r.path)),
    ['b/big-blue.png'],
  );
  const none = await searchJson(['search-text', 'red', '--path', join(work, 'nowhere')]);
  assert.deepEqual(none.results, []);
});

test('bad filter values are refused with a message naming the parameter', async () => {
  const cases: [string[], RegExp][] = [
    [['--after', '2021-13-01'], /--after must be a date like 2021-06-05/],
    [['--before', 'soon'], /--before must be a date/],
    [['--min-width', '-3'], /--min-width must be a whole number/],
    [['--min-height', 'tall'], /--min-height must be a whole number/],
    [['--format', ',,'], /--format must be formats/],
    [['--after', '2022', '--before', '2021'], /--after \(2022\) must be earlier than --before \(2021\)/],
    [['--add', '0:green'], /--add: the weight must be a positive number/],
    [['--subtract', 'red'], /the query terms cancel out/],
    [['--add-image', join(work, 'missing.jpg')], /--add-image: .* is neither an image file nor a catalogue id/],
  ];
  for (const [args, message] of cases) {
    const r = await cli('search-text', 'red', ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('EXIF facts are stored in the catalogue at embed time', async () => {
  const catalog = await openCatalog({ libraryDir: library }, { mustExist: true });
  try {
    const ids = await catalog.images.matchingIds({ path: { folder: join(folderB, 'cam-red.jpg') } });
    assert.equal(ids.length, 1);
    const record = (await catalog.images.get(ids)).get(ids[0])!;
    assert.deepEqual(record.exif, {
      takenAt: '2021-06-05T14:03:09',
      takenOffset: null,
      cameraMake: 'PicsiftCam',
      cameraModel: 'Model 7',
      orientation: 1, // sharp writes "upright"
      gpsLat: null,
      gpsLon: null,
    });
  } finally {
    await catalog.close();
  }
});

test('duplicates finds a copy under another name and a resized copy, through the index', async () => {
  const dir = join(work, 'dups');
  const lib = join(work, 'dups-library');
  mkdirSync(dir);
  await writeSolidJpeg(join(dir, 'red.jpg'), COLOURS.red, 320, 240);
  copyFileSync(join(dir, 'red.jpg'), join(dir, 'holiday copy.jpg'));
  await writeSolidJpeg(join(dir, 'blue.jpg'), COLOURS.blue, 320, 240);
  await sharp(join(dir, 'blue.jpg')).resize(160, 120).jpeg({ quality: 70 }).toFile(join(dir, 'blue-small.jpg'));
  await writeSolidJpeg(join(dir, 'green.jpg'), COLOURS.green, 320, 240);
  await writeSolidJpeg(join(dir, 'yellow.jpg'), COLOURS.yellow, 320, 240);
  const indexed = await runCli(['--library', lib, '--model', models.colorClip, 'index', dir]);
  assert.equal(indexed.code, 0, indexed.stderr);
  assert.match(indexed.stderr, /6 in the index/);

  const r = await runCli(['--library', lib, 'duplicates', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { threshold: number; groups: { kind: string; images: { id: number; path: string }[] }[] };
  assert.equal(out.threshold, 0.95);
  const groups = out.groups.map((g) => ({ kind: g.kind, names: g.images.map((i) => i.path.slice(dir.length + 1)).sort() }));
  assert.deepEqual(
    groups.sort((a, b) => a.kind.localeCompare(b.kind)),
    [
      { kind: 'exact', names: ['holiday copy.jpg', 'red.jpg'] },
      { kind: 'near', names: ['blue-small.jpg', 'blue.jpg'] },
    ],
  );
  const text = await runCli(['--library', lib, 'duplicates']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /exact duplicates:\n {2}.*holiday copy\.jpg\n {2}.*red\.jpg\n/);
  assert.match(text.stdout, /near duplicates:\n {2}.*blue-small\.jpg\n {2}.*blue\.jpg\n/);
  // Nothing is that similar at a cut-off above 1.
  const bad = await runCli(['--library', lib, 'duplicates', '--threshold', '1.5']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--threshold must be a cosine score/);
});

test('any language: a Hebrew query returns the same results as its English twin (color-clip-multilingual)', async () => {
  const lib = join(work, 'multilingual-library');
  const indexed = await runCli(['--library', lib, '--model', models.colorClipMultilingual, 'index', folderA, join(folderB)]);
  assert.equal(indexed.code, 0, indexed.stderr);
  const query = async (q: string) => {
    const r = await runCli(['--library', lib, 'search-text', q, '--json', '-n', '12']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { query: string; results: { id: number; score: number }[] };
  };
  const english = await query('red');
  assert.equal(english.results.length, 12);
  for (const twin of ['אדום', 'أحمر', 'красный', '红']) {
    const other = await query(twin);
    assert.equal(other.query, twin);
    assert.deepEqual(other.results, english.results, twin);
  }
  // Combined and filtered queries work in any language too.
  const mixed = await runCli(['--library', lib, 'search-text', 'אדום', '--add', '3:ירוק', '--path', folderA, '--json', '-n', '3']);
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.ok((JSON.parse(mixed.stdout).results as { path: string }[]).every((r) => r.path.startsWith(`${folderA}/green-`)));
});
