// Adopting the old tool's library (metadata.db + embeddings.npy with far fewer rows
// than the database references) and exporting back to that layout. The .npy files
// are written and read by numpy itself, so the format is checked against the real thing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { models, runCli, tempDir, vectorsByPath } from './support.js';

const python = (code: string, ...args: string[]): string => execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });

/** 20 random unit vectors of tiny-clip's width (32), saved by numpy. */
function writeLegacyNpy(path: string, rows = 20, extra = ''): void {
  python(
    `import numpy as np, sys
rng = np.random.default_rng(5)
v = rng.standard_normal((${rows}, 32)).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
${extra}
np.save(sys.argv[1], v)`,
    path,
  );
}

async function legacyLibrary(dir: string): Promise<{ db: string; npy: string; photos: string }> {
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  const db = new Database(join(dir, 'metadata.db'));
  db.exec(
    'CREATE TABLE images (id INTEGER PRIMARY KEY, file_path TEXT, embedding_index INTEGER, width INTEGER, height INTEGER, format TEXT, created_at TEXT)',
  );
  const insert = db.prepare('INSERT INTO images (file_path, embedding_index, width, height, format, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  for (let i = 0; i < 200; i++) {
    const path = join(photos, `p${String(i).padStart(3, '0')}.jpg`);
    await sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: i, g: 255 - i, b: (i * 7) % 256 } } })
      .jpeg()
      .toFile(path);
    // Rows 0–19 point at the 20 vectors that reached the .npy (in reverse order);
    // the rest point past its end, as the real 903K-row database does.
    insert.run(path, i < 20 ? 19 - i : i, 40 + i, 30, 'JPEG', '2024-01-01');
  }
  db.close();
  const npy = join(dir, 'embeddings.npy');
  writeLegacyNpy(npy);
  return { db: join(dir, 'metadata.db'), npy, photos };
}

test('import-legacy keeps the 20 vectors, embed computes the other 180, export round-trips', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const legacy = await legacyLibrary(dir);
  const library = join(dir, 'library');
  const cli = (...args: string[]) => runCli(['--library', library, '--model', models.tinyClip, ...args]);

  const imported = await cli('import-legacy', '--db', legacy.db, '--embeddings', legacy.npy);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, /imported 200 rows: 20 with their vector kept, 180 pending/);
  const adopted = await vectorsByPath(library);
  assert.equal(adopted.size, 20);

  const embedded = await cli('index', legacy.photos);
  assert.equal(embedded.code, 0, embedded.stderr);
  assert.match(embedded.stderr, /0 new, 0 changed, 200 unchanged/);
  assert.match(embedded.stderr, /embedded 180 images/);
  const all = await vectorsByPath(library);
  assert.equal(all.size, 200);
  const npyRows = JSON.parse(
    python('import numpy as np, sys, json; print(json.dumps(np.load(sys.argv[1]).tolist()))', legacy.npy),
  ) as number[][];
  for (let i = 0; i < 20; i++) {
    const path = join(legacy.photos, `p${String(i).padStart(3, '0')}.jpg`);
    assert.deepEqual(Array.from(all.get(path)!), Array.from(Float32Array.from(npyRows[19 - i])), `${path} keeps its adopted vector`);
  }
  assert.equal((await cli('verify')).code, 0);

  // Export, check it with numpy and sqlite, and adopt the export into a fresh library.
  const out = join(dir, 'export');
  const exported = await cli('export', '--out', out);
  assert.equal(exported.code, 0, exported.stderr);
  const check = python(
    `import numpy as np, sqlite3, sys
e = np.load(sys.argv[1] + '/embeddings.npy')
rows = sqlite3.connect(sys.argv[1] + '/metadata.db').execute('select file_path, embedding_index from images order by id').fetchall()
assert e.dtype == np.float32 and e.shape == (200, 32), (e.dtype, e.shape)
assert sorted(r[1] for r in rows) == list(range(200))
print(rows[0][0], ' '.join(repr(float(x)) for x in e[rows[0][1]][:3]))`,
    out,
  ).trim();
  const [firstPath, ...firstValues] = check.split(' ');
  assert.deepEqual(firstValues.map(Number), Array.from(all.get(firstPath)!.slice(0, 3)));

  const second = join(dir, 'library2');
  const reimport = await runCli([
    '--library',
    second,
    '--model',
    models.tinyClip,
    'import-legacy',
    '--db',
    join(out, 'metadata.db'),
    '--embeddings',
    join(out, 'embeddings.npy'),
  ]);
  assert.equal(reimport.code, 0, reimport.stderr);
  assert.match(reimport.stderr, /200 with their vector kept, 0 pending/);
  const roundTrip = await vectorsByPath(second);
  for (const [path, vector] of all) assert.deepEqual(Array.from(roundTrip.get(path)!), Array.from(vector));
});

test('a malformed embeddings.npy is refused with a message naming the file and the problem', async (t) => {
  const dir = tempDir(t);
  const legacy = await legacyLibrary(dir);
  const cases: [string, string, RegExp][] = [
    ['float64.npy', 'v = v.astype(np.float64)', /dtype is '<f8', expected little-endian float32/],
    ['fortran.npy', 'v = np.asfortranarray(v)', /Fortran order/],
    ['three-d.npy', 'v = v.reshape(20, 4, 8)', /not two-dimensional/],
  ];
  for (const [name, transform, message] of cases) {
    const npy = join(dir, name);
    writeLegacyNpy(npy, 20, transform);
    const library = join(dir, `lib-${name}`);
    const r = await runCli(['--library', library, '--model', models.tinyClip, 'import-legacy', '--db', legacy.db, '--embeddings', npy]);
    assert.equal(r.code, 1, name);
    assert.match(r.stderr, message);
    assert.ok(r.stderr.includes(npy), `the message names ${npy}`);
    assert.equal(JSON.parse((await runCli(['--library', library, 'status', '--json'])).stdout).images, 0, 'nothing imported');
  }
  const notNpy = await runCli([
    '--library',
    join(dir, 'lib-x'),
    '--model',
    models.tinyClip,
    'import-legacy',
    '--db',
    legacy.db,
    '--embeddings',
    legacy.db,
  ]);
  assert.match(notNpy.stderr, /is not a \.npy file/);
});
