// verify finds what is wrong in a library; repair fixes it by dropping and
// re-embedding, and the library ends consistent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { models, runCli, tempDir, writeSolidJpeg, COLOURS } from './support.js';

test('verify reports damage, repair fixes it, embed restores the vectors', async (t) => {
  const dir = tempDir(t);
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  for (const [name, rgb] of Object.entries(COLOURS)) await writeSolidJpeg(join(photos, `${name}.jpg`), rgb);
  const library = join(dir, 'library');
  const cli = (...args: string[]) => runCli(['--library', library, '--model', models.colorClip, ...args]);
  assert.equal((await cli('index', photos)).code, 0);
  assert.equal((await cli('verify')).code, 0);

  // Damage the catalogue behind picsift's back.
  const db = new Database(join(library, 'catalog.sqlite'));
  const ids = (db.prepare('SELECT id FROM images ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  db.prepare('DELETE FROM vectors WHERE image_id = ?').run(ids[0]);
  db.prepare('UPDATE vectors SET vector = ? WHERE image_id = ?').run(Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer), ids[1]);
  db.prepare('UPDATE vectors SET vector = ? WHERE image_id = ?').run(Buffer.from(new Float32Array([0.5, 0.5]).buffer), ids[2]);
  db.prepare('UPDATE vectors SET vector = ? WHERE image_id = ?').run(Buffer.from(new Float32Array([NaN, 0, 0, 0, 0, 0]).buffer), ids[3]);
  db.close();

  const verify = await cli('verify', '--json');
  assert.equal(verify.code, 1);
  const report = JSON.parse(verify.stdout);
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.catalog.map((p: { kind: string; imageId: number }) => [p.kind, p.imageId]).sort(),
    [
      ['embedded-without-vector', ids[0]],
      ['vector-not-unit', ids[1]],
      ['vector-not-unit', ids[3]],
      ['vector-wrong-dims', ids[2]],
    ].sort(),
  );
  assert.match((await cli('verify')).stdout, /vector-wrong-dims\timage \d+\t.*\.jpg\tvector has 2 dimensions/);

  const repair = await cli('repair');
  assert.equal(repair.code, 0, repair.stderr);
  assert.match(repair.stderr, /4 images go back to the embed queue/);
  assert.equal(JSON.parse((await cli('status', '--json')).stdout).pending, 4);
  assert.equal((await cli('embed')).code, 0);
  assert.equal((await cli('verify')).code, 0);
  const red = JSON.parse((await cli('search-text', 'red', '--json', '-n', '1')).stdout).results[0];
  assert.ok(red.path.endsWith('red.jpg'));
});
