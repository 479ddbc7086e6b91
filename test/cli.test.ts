// End to end through the real command line, with the honest color-clip model:
// real files, real SQLite, real ONNX sessions and the real index.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLOURS, models, runCli, sharedDir, writeSolidJpeg } from './support.js';

const work = mkdtempSync(join(tmpdir(), 'picsift-cli-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const library = join(work, 'library');
const colours = join(work, 'colours');
const photos = join(sharedDir, 'data', 'photos');
const PER_COLOUR = 5;

before(async () => {
  mkdirSync(colours);
  for (const [name, rgb] of Object.entries(COLOURS)) {
    for (let i = 0; i < PER_COLOUR; i++) {
      // Shades and sizes vary so that no two files are identical.
      const shade = rgb.map((c) => Math.max(0, Math.min(255, c + (i - 2) * 6))) as [number, number, number];
      await writeSolidJpeg(join(colours, `${name}-${i}.jpg`), shade, 200 + 40 * i, 300 - 20 * i);
    }
  }
});

const cli = (...args: string[]) => runCli(['--library', library, ...args]);

test('index colours mixed with real photos, then search by colour name', async () => {
  const indexed = await cli('--model', models.colorClip, 'index', colours, photos);
  assert.equal(indexed.code, 0, indexed.stderr);
  assert.match(indexed.stderr, /registered: \d+ new/);

  const status = await cli('status', '--json');
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  assert.deepEqual(Object.keys(s), ['images', 'embedded', 'pending', 'failed', 'indexed', 'model', 'dtype', 'library', 'spaces']);
  assert.equal(s.images, 6 * PER_COLOUR + 86);
  assert.equal(s.pending, 0);
  assert.equal(s.embedded + s.failed, s.images);
  assert.equal(s.indexed, s.embedded);
  assert.equal(s.model, models.colorClip);

  for (const colour of ['red', 'blue', 'green']) {
    const r = await cli('search-text', colour, '--json', '-n', '5');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['query', 'model', 'cutoff', 'matches', 'weaker', 'sort', 'results']);
    assert.equal(out.query, colour);
    assert.equal(out.model, models.colorClip);
    assert.equal(out.results.length, 5);
    out.results.forEach((hit: Record<string, unknown>, i: number) => {
      assert.deepEqual(Object.keys(hit), ['rank', 'id', 'path', 'score', 'date', 'match']);
      assert.equal(hit.rank, i + 1);
      assert.ok(String(hit.path).startsWith(join(colours, `${colour}-`)), `${colour} result ${i + 1} is ${hit.path}`);
      if (i > 0) assert.ok((hit.score as number) <= out.results[i - 1].score);
    });
  }
});

test('search without --json prints rank, score and path; the alias works', async () => {
  const r = await cli('search', 'yellow', '-n', '3');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^\s+1\s+[01]\.\d{4}\s+\/.*yellow-\d\.jpg$/);
});

test('the library refuses a second model, and says which one it holds', async () => {
  const r = await cli('--model', models.tinyClip, 'search-text', 'red');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to mix/);
  assert.ok(r.stderr.includes(models.colorClip));
});

test('running index again embeds nothing new', async () => {
  const r = await cli('index', colours);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /0 new, 0 changed, 30 unchanged/);
  assert.match(r.stderr, /nothing to embed/);
});

test('bad parameters get a clear message naming them', async () => {
  const r = await cli('search-text', 'red', '-n', '0');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /-n must be a whole number/);
  const d = await cli('--dtype', 'fp64', 'status');
  assert.notEqual(d.code, 0);
  assert.match(d.stderr, /fp64/);
  const m = await runCli(['--library', join(work, 'other'), '--model', join(work, 'no-such-dir'), 'embed']);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /no-such-dir/);
});

test('an empty library answers with a message, not an error', async () => {
  const empty = join(work, 'empty');
  mkdirSync(join(work, 'no-photos'));
  assert.equal((await runCli(['--library', empty, 'scan', join(work, 'no-photos')])).code, 0);
  const r = await runCli(['--library', empty, '--model', models.colorClip, 'search-text', 'red', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).results, []);
  assert.match(r.stderr, /no embedded images yet/);
});

test('a library that does not exist is named, never created, by a command that only reads', async () => {
  const typo = join(work, 'libary');
  for (const args of [['status'], ['search-text', 'red'], ['errors'], ['verify']]) {
    const r = await runCli(['--library', typo, ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(
      r.stderr,
      `picsift: library ${typo} does not exist (it has no catalog.sqlite); check --library (or PICSIFT_LIBRARY), or create it with \`picsift index DIR\`\n`,
    );
  }
  assert.equal(existsSync(typo), false);
});
