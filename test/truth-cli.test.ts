// It tells the truth and never hangs (issue 15), through the real command line:
// each failure reason is the file's own, a pipe never hangs a run, an index of
// another catalogue is never used, damage is found and recovered without loops,
// names cannot drive the terminal, Ctrl-C says what was kept, leftovers go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, openSync, readdirSync, rmSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { COLOURS, models, repoRoot, runCli, sharedDir, startCli, tempDir, writeSolidJpeg } from './support.js';

const badInputs = join(sharedDir, 'data', 'bad-inputs');
const cifar = join(sharedDir, 'data', 'cifar10-test', 'test');

async function colourFolder(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const [name, rgb] of Object.entries(COLOURS)) await writeSolidJpeg(join(dir, `${name}.jpg`), rgb);
  return dir;
}

test(
  'every failure reason is the file’s own: three runs over bad-inputs give the same reason per file',
  { timeout: 300_000 },
  async (t) => {
    const runs: Map<string, string>[] = [];
    for (let i = 0; i < 3; i++) {
      const library = join(tempDir(t), 'lib');
      assert.equal((await runCli(['--library', library, '--model', models.tinyClip, 'index', badInputs])).code, 0);
      const errors = JSON.parse((await runCli(['--library', library, 'errors', '--json'])).stdout) as Record<
        string,
        { path: string; reason: string }[]
      >;
      runs.push(new Map([...errors.failed, ...errors.skipped].map((f) => [f.path, f.reason])));
    }
    assert.ok(runs[0].size > 50);
    for (const [path, reason] of runs[0]) {
      assert.equal(runs[1].get(path), reason, path);
      assert.equal(runs[2].get(path), reason, path);
      assert.doesNotMatch(reason, /Unknown error/, path);
    }
  },
);

test('a photo replaced by a named pipe fails with a reason, and the run ends', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const photos = await colourFolder(join(dir, 'photos'));
  const library = join(dir, 'lib');
  const lib = ['--library', library, '--model', models.colorClip];
  assert.equal((await runCli([...lib, 'scan', photos])).code, 0);
  rmSync(join(photos, 'red.jpg'));
  execFileSync('mkfifo', [join(photos, 'red.jpg')]);
  const embed = await runCli([...lib, 'embed']);
  assert.equal(embed.code, 0, embed.stderr);
  const errors = JSON.parse((await runCli([...lib, 'errors', '--json'])).stdout) as { failed: { path: string; reason: string }[] };
  assert.deepEqual(
    errors.failed.map((f) => [f.path, f.reason]),
    [[join(photos, 'red.jpg'), 'not a regular file (a named pipe): only image files are read']],
  );
  // A re-scan of the folder does not hang on it either.
  assert.equal((await runCli([...lib, 'index', photos])).code, 0);
});

test('an index built from another catalogue is never used, and a zero-length catalogue is not taken for a new library', async (t) => {
  const dir = tempDir(t);
  const photos = await colourFolder(join(dir, 'photos'));
  const library = join(dir, 'lib');
  const lib = ['--library', library, '--model', models.colorClip];
  assert.equal((await runCli([...lib, 'index', photos])).code, 0);

  // A new catalogue (of the same model) in the same folder, the old index left behind.
  for (const f of readdirSync(library)) if (f.startsWith('catalog.sqlite')) rmSync(join(library, f));
  mkdirSync(join(dir, 'two'));
  copyFileSync(join(photos, 'red.jpg'), join(dir, 'two', 'red.jpg'));
  copyFileSync(join(photos, 'blue.jpg'), join(dir, 'two', 'blue.jpg'));
  const again = await runCli([...lib, 'index', join(dir, 'two')]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /built index: 2 vectors added, 2 in the index/);
  const red = JSON.parse((await runCli([...lib, 'search-text', 'red', '--json', '-n', '1'])).stdout);
  assert.equal(red.results[0].path, join(dir, 'two', 'red.jpg'));

  truncateSync(join(library, 'catalog.sqlite'), 0);
  for (const args of [['status'], ['index', photos]]) {
    const r = await runCli([...lib, ...args]);
    assert.equal(r.code, 1, args[0]);
    assert.match(
      r.stderr,
      /^picsift: catalogue .*catalog\.sqlite is empty \(0 bytes\): it was truncated or replaced\. Restore it from a backup, or move it away to start a new library\n$/,
    );
  }
});

/** Writes pseudo-random bytes over the middle of a leaf page of `table` (an SQLite b-tree). */
function damagePage(catalog: string, table: string): void {
  const db = new Database(catalog, { readonly: true });
  const pages = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno`).pluck().all(table) as number[];
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const page = pages[Math.floor(pages.length / 2)];
  let seed = 7;
  const junk = Buffer.alloc(Math.floor(pageSize * 0.7));
  for (let i = 0; i < junk.length; i++) junk[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
  const fd = openSync(catalog, 'r+');
  writeSync(fd, junk, 0, junk.length, (page - 1) * pageSize + Math.floor(pageSize * 0.15));
  closeSync(fd);
}

test(
  'random bytes in a page of a real catalogue: verify finds it, repair refuses, recover keeps what is sound',
  { timeout: 180_000 },
  async (t) => {
    const dir = tempDir(t);
    const original = join(dir, 'original');
    assert.equal((await runCli(['--library', original, '--model', models.tinyClip, 'index', join(cifar, 'cat')])).code, 0);
    for (const [name, table] of [
      ['index-page', 'images_by_status'],
      ['table-page', 'images'],
    ]) {
      const library = join(dir, name);
      cpSync(original, library, { recursive: true });
      damagePage(join(library, 'catalog.sqlite'), table);
      const lib = ['--library', library];

      const verify = await runCli([...lib, 'verify']);
      assert.equal(verify.code, 1, `${name}: ${verify.stdout}`);
      assert.match(verify.stdout, /^storage\t/m, name);
      assert.match(verify.stderr, /is damaged; `picsift recover` copies what can still be read/, name);
      const repair = await runCli([...lib, 'repair']);
      assert.equal(repair.code, 1, name);
      assert.match(repair.stderr, /repair does not edit a damaged file: run `picsift recover`/, name);

      const recover = await runCli([...lib, 'recover']);
      assert.equal(recover.code, 0, `${name}: ${recover.stderr}`);
      assert.match(recover.stderr, /recovered [\d,]+ images .* the damaged file is kept as .*catalog\.sqlite\.damaged-/, name);
      assert.ok(
        readdirSync(library).some((f) => f.startsWith('catalog.sqlite.damaged-')),
        name,
      );
      const after = await runCli([...lib, 'verify', '--json', '--full']);
      assert.equal(after.code, 0, `${name}: ${after.stdout}`);
      const status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
      if (table === 'images_by_status')
        assert.deepEqual([status.images, status.embedded], [1000, 1000], 'an index page holds no data of its own');
      else assert.ok(status.images >= 900 && status.embedded + status.pending + status.failed === status.images, JSON.stringify(status));
      // A rescan registers what the damaged page held, and embed restores it.
      assert.equal((await runCli([...lib, 'index', join(cifar, 'cat')])).code, 0);
      assert.deepEqual(JSON.parse((await runCli([...lib, 'status', '--json'])).stdout).embedded, 1000, name);
    }
  },
);

test('file names cannot drive the terminal: control characters are shown escaped outside --json', async (t) => {
  const dir = tempDir(t);
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  const hostile = 'red\x1b]0;owned\x07\x1b[2J\nfake line.jpg';
  await writeSolidJpeg(join(photos, hostile), COLOURS.red);
  writeFileSync(join(photos, 'notes\x1b[31m.txt'), 'not an image');
  const lib = ['--library', join(dir, 'lib'), '--model', models.colorClip];
  assert.equal((await runCli([...lib, 'index', photos])).code, 0);
  const search = await runCli([...lib, 'search-text', 'red', '-n', '1']);
  assert.equal(search.stdout.trimEnd().split('\n').length, 1, 'a newline in a name does not split the result line');
  assert.match(search.stdout, /red\\x1b\]0;owned\\x07\\x1b\[2J\\nfake line\.jpg$/m);
  assert.ok(!search.stdout.includes('\x1b'), 'no escape character reaches the terminal');
  const errors = await runCli([...lib, 'errors']);
  assert.match(errors.stdout, /notes\\x1b\[31m\.txt\tnot an image/);
  assert.ok(!errors.stdout.includes('\x1b'));
  // --json carries the real name.
  const json = JSON.parse((await runCli([...lib, 'search-text', 'red', '-n', '1', '--json'])).stdout);
  assert.equal(json.results[0].path, join(photos, hostile));
});

test(
  'Ctrl-C during embed commits the batches in flight, says what was kept, and the same command continues',
  { timeout: 120_000 },
  async (t) => {
    const library = tempDir(t);
    const lib = ['--library', library, '--model', models.tinyClip];
    assert.equal((await runCli([...lib, 'scan', join(cifar, 'dog'), join(cifar, 'frog')])).code, 0);
    const run = startCli([...lib, 'embed', '--batch-size', '8']);
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (JSON.parse((await runCli([...lib, 'status', '--json'])).stdout).embedded > 0) break;
    }
    run.child.kill('SIGINT');
    const done = await run.done;
    assert.equal(done.code, 130, done.stderr);
    const kept = /interrupted: ([\d,]+) images? embedded and kept; run the same command to continue/.exec(done.stderr);
    assert.ok(kept, done.stderr);
    const status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
    assert.equal(status.embedded, Number(kept[1].replace(/,/g, '')), 'the line tells the truth');
    assert.equal((await runCli([...lib, 'embed'])).code, 0);
    assert.equal(JSON.parse((await runCli([...lib, 'status', '--json'])).stdout).embedded, 2000);
  },
);

test('on a terminal, Ctrl-C restores the cursor and line wrap, and the first frame claims nothing', { timeout: 120_000 }, async (t) => {
  const library = tempDir(t);
  const lib = ['--library', library, '--model', models.tinyClip];
  assert.equal((await runCli([...lib, 'scan', join(cifar, 'ship')])).code, 0);
  // script(1) gives the command a pseudo-terminal, as a person's shell would.
  const command = [process.execPath, join(repoRoot, 'bin', 'picsift.js'), ...lib, 'embed', '--batch-size', '8']
    .map((a) => `'${a}'`)
    .join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  while (!/embedding/.test(out)) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1500));
  child.stdin.write('\x03'); // Ctrl-C, through the terminal
  await closed;
  assert.doesNotMatch(out, /0\/0|ETA 0s/, 'no frame claims what it does not know');
  const hidden = out.lastIndexOf('\x1b[?25l');
  const shown = out.lastIndexOf('\x1b[?25h');
  assert.ok(hidden >= 0 && shown > hidden, 'the cursor is shown again');
  assert.match(out, /interrupted: [\d,]+ images? embedded and kept; run the same command to continue/);
});

test('leftovers of killed and failed runs are cleaned by the next run of the same command', async (t) => {
  const dir = tempDir(t);
  const photos = await colourFolder(join(dir, 'photos'));
  const library = join(dir, 'lib');
  const lib = ['--library', library, '--model', models.colorClip];
  assert.equal((await runCli([...lib, 'index', photos])).code, 0);
  writeFileSync(join(library, 'index', 'manifest.json.4242.tmp'), '{');
  writeFileSync(join(library, 'index', 'vectors-1-4242.usearch.tmp'), 'half');
  assert.equal((await runCli([...lib, 'build-index'])).code, 0);
  assert.deepEqual(
    readdirSync(join(library, 'index')).filter((f) => f.endsWith('.tmp')),
    [],
  );

  const out = join(dir, 'export');
  mkdirSync(out);
  writeFileSync(join(out, 'metadata.db.tmp'), 'half');
  writeFileSync(join(out, 'embeddings.npy.tmp'), 'half');
  assert.equal((await runCli([...lib, 'export', '--out', out])).code, 0);
  assert.deepEqual(readdirSync(out).sort(), ['embeddings.npy', 'metadata.db']);
  const again = await runCli([...lib, 'export', '--out', out]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds an export \(embeddings\.npy, metadata\.db\); add --force to replace it/);
  assert.equal((await runCli([...lib, 'export', '--out', out, '--force'])).code, 0);
  const onto = await runCli([...lib, 'export', '--out', join(photos, 'red.jpg')]);
  assert.match(onto.stderr, /red\.jpg is a file, not a folder/);
});

test('messages name the parameter and the fix; counts are grammatical; --version', async (t) => {
  const dir = tempDir(t);
  const photos = await colourFolder(join(dir, 'photos'));
  const lib = ['--library', join(dir, 'lib'), '--model', models.colorClip];
  const index = await runCli([...lib, 'index', photos, join(dir, 'no-such-folder')]);
  assert.equal(index.code, 1);
  assert.equal(index.stderr, `picsift: ${join(dir, 'no-such-folder')} does not exist; check the path (nothing was scanned)\n`);
  assert.equal((await runCli([...lib, 'index', photos])).code, 0);

  const cases: [string[], RegExp][] = [
    [['search-text', 'red', '--format', 'bogus'], /^picsift: --format: "bogus" is no image format picsift knows; known: jpg, png/],
    [['search-text', 'red', '--add', '-1:foo'], /^picsift: --add: the weight must be a positive number, not "-1"/],
    [
      ['search-text', 'red', '-n', 'many'],
      /^picsift: .*-n must be a whole number from 1 to 1000, not "many"\n\(run `picsift COMMAND --help` for its options\)\n$/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([...lib, ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.ok(r.stderr.split('\n').length <= 3, `${args.join(' ')}: no usage dump`);
  }

  rmSync(join(photos, 'red.jpg'));
  const forget = await runCli([...lib, 'forget', join(photos, 'blue.jpg')]);
  assert.match(forget.stderr, /^forgot 1 image under /m);
  const version = await runCli(['--version']);
  assert.equal(version.stdout.trim(), JSON.parse(execFileSync('cat', [join(repoRoot, 'package.json')]).toString()).version);
  // One problem is "1 problem".
  const db = new Database(join(dir, 'lib', 'catalog.sqlite'));
  db.prepare(`DELETE FROM vectors WHERE image_id = (SELECT min(id) FROM images WHERE status = 'embedded')`).run();
  db.close();
  assert.match((await runCli([...lib, 'verify'])).stderr, /^1 problem; `picsift repair` fixes it$/m);
});

test('names that are not UTF-8 are accounted for by their bytes, with the fix; a real U+FFFD name is indexed', async (t) => {
  const dir = tempDir(t);
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  await writeSolidJpeg(join(photos, 'ok.jpg'), COLOURS.red);
  const latin1 = Buffer.concat([Buffer.from(`${photos}/caf`), Buffer.from([0xe9]), Buffer.from('.jpg')]);
  copyFileSync(join(photos, 'ok.jpg'), latin1);
  const folder = Buffer.concat([Buffer.from(`${photos}/dossier `), Buffer.from([0xe9]), Buffer.from('t')]);
  mkdirSync(folder);
  copyFileSync(join(photos, 'ok.jpg'), Buffer.concat([folder, Buffer.from('/x.jpg')]));
  copyFileSync(join(photos, 'ok.jpg'), join(photos, 'real \uFFFD name.jpg'));
  const lib = ['--library', join(dir, 'lib'), '--model', models.colorClip];
  const index = await runCli([...lib, 'index', photos]);
  assert.equal(index.code, 0, index.stderr);
  assert.match(index.stderr, /2 new, .*; 0 files are not images, 2 names are not UTF-8 \(see picsift errors\)/);
  const errors = JSON.parse((await runCli([...lib, 'errors', '--json'])).stdout) as { skipped: { path: string; reason: string }[] };
  assert.deepEqual(errors.skipped.map((f) => f.path).sort(), [join(photos, 'caf\\xE9.jpg'), join(photos, 'dossier \\xE9t')]);
  for (const f of errors.skipped) assert.match(f.reason, /name is not valid UTF-8 .* rename it to UTF-8 \(e\.g\. convmv/);
  const status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
  assert.deepEqual([status.images, status.embedded], [2, 2]);
});
