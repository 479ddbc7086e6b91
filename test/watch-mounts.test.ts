// A removed mount is not a deletion: photos on a disk that is unmounted under a
// watched folder stay in the library while a watcher runs, though a photo deleted
// beside them goes; only a full rescan of a reachable parent finds them gone
// (and they come back with their vectors when the disk does). Needs a real mount
// (tmpfs), so it runs as root where mounting is allowed, and is skipped elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { models, runCli, startCli, tempDir } from './support.js';
import { colourPhotos, sleep, until, writeAtOnce } from './watch-fixture.js';

function canMount(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', 'picsift-test', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function statuses(library: string): Promise<Map<string, string>> {
  const catalog = await openCatalog({ libraryDir: library }, { mustExist: true });
  try {
    return new Map((await catalog.maintenance.readRows(0, 1000)).map((r) => [r.path, r.status]));
  } finally {
    await catalog.close();
  }
}

test('watch: photos on an unmounted disk stay until a full rescan; a deleted photo beside them goes', { timeout: 120_000 }, async (t) => {
  const work = tempDir(t);
  const photosDir = join(work, 'photos');
  const disk = join(photosDir, 'disk');
  mkdirSync(disk, { recursive: true });
  if (!canMount(disk)) {
    t.skip('mounting a tmpfs is not allowed here (needs root)');
    return;
  }
  t.after(() => {
    try {
      execFileSync('umount', [disk], { stdio: 'ignore' });
    } catch {
      // Already unmounted.
    }
  });
  const photos = await colourPhotos(6);
  for (const p of photos.slice(0, 3)) await writeAtOnce(join(disk, p.name), p.bytes);
  for (const p of photos.slice(3)) await writeAtOnce(join(photosDir, 'local', p.name), p.bytes);
  const library = join(work, 'library');
  const watcher = startCli(['--library', library, '--model', models.colorClip, 'watch', photosDir, '--settle', '0.5']);
  t.after(() => {
    if (watcher.child.exitCode === null) watcher.child.kill('SIGKILL');
  });
  const onDisk = photos.slice(0, 3).map((p) => join(disk, p.name));
  const local = photos.slice(3).map((p) => join(photosDir, 'local', p.name));
  await until('all six embedded', 60_000, async () => {
    const s = await statuses(library).catch(() => new Map<string, string>());
    return [...onDisk, ...local].every((p) => s.get(p) === 'embedded') ? true : undefined;
  });

  // The disk goes away (its mount point stays, empty), and a local photo is deleted.
  execFileSync('umount', [disk]);
  rmSync(local[0]);
  await until('the deleted photo removed', 20_000, async () => ((await statuses(library)).get(local[0]) === 'removed' ? true : undefined));
  await sleep(2000); // time for any event about the unmounted disk to be acted on
  const during = await statuses(library);
  for (const p of onDisk) assert.equal(during.get(p), 'embedded', `${p} stays while its disk is away`);

  watcher.child.kill('SIGTERM');
  assert.equal((await watcher.done).code, 0);

  // A full rescan of the reachable parent finds them gone; back with the disk, they keep their vectors.
  assert.equal((await runCli(['--library', library, 'scan', photosDir])).code, 0);
  const after = await statuses(library);
  for (const p of onDisk) assert.equal(after.get(p), 'removed');
  execFileSync('mount', ['-t', 'tmpfs', 'picsift-test', disk]);
  for (const p of photos.slice(0, 3)) await writeAtOnce(join(disk, p.name), p.bytes);
  assert.equal((await runCli(['--library', library, 'scan', photosDir])).code, 0);
  const back = await statuses(library);
  for (const p of onDisk) assert.equal(back.get(p), 'embedded', `${p} is back with its vector, not pending`);
  execFileSync('umount', [disk]);
});
