// A full disk during embed: a clear message, a consistent catalogue, and the same
// command resumes once there is space again. Needs root to mount a small tmpfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models, runCli, sharedDir } from './support.js';

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('embed on a full disk stops cleanly and resumes when space is back', { timeout: 120_000 }, async (t) => {
  const disk = mkdtempSync(join(tmpdir(), 'picsift-disk-'));
  if (!mountTmpfs(disk, '8m')) {
    rmSync(disk, { recursive: true });
    t.skip('needs root to mount a tmpfs (CI runs as root)');
    return;
  }
  t.after(() => {
    execFileSync('umount', [disk]);
    rmSync(disk, { recursive: true });
  });
  const library = join(disk, 'library');
  const lib = ['--library', library, '--model', models.tinyClip];
  assert.equal((await runCli([...lib, 'scan', join(sharedDir, 'data', 'cifar10-test', 'test', 'frog')])).code, 0);

  // Leave only a little room, so that the catalogue fills the disk part-way through.
  const { bavail, bsize } = statfsSync(disk);
  const filler = join(disk, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 150 * 1024)));

  const full = await runCli([...lib, 'embed', '--batch-size', '16']);
  assert.equal(full.code, 1);
  assert.match(full.stderr, /the disk is full while saving vectors .*run the same command again to resume/);
  const partial = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
  assert.ok(partial.embedded > 0 && partial.embedded < 1000, `embedded ${partial.embedded} before the disk filled`);
  assert.equal(partial.embedded + partial.pending + partial.failed, partial.images);

  rmSync(filler);
  const resumed = await runCli([...lib, 'embed']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const final = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
  assert.deepEqual([final.embedded, final.pending, final.failed], [1000, 0, 0]);
  assert.equal((await runCli([...lib, 'verify'])).code, 0);
});
