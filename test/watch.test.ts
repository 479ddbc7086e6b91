// Issue 12's promise: a running `serve --watch` keeps the library current by itself.
// Photos copied into the watched folder in bursts (some written slowly, in
// chunks) are found within 10 s of their write completing; deleted ones are gone
// within 10 s; a renamed folder's photos appear under their new paths without
// being embedded again; and a SIGKILL in the middle of a burst loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { models, runCli, tempDir } from './support.js';
import { colourPhotos, search, sleep, startServe, status, until, writeAtOnce, writeSlowly, type ServerProcess } from './watch-fixture.js';

const WITHIN_MS = 10_000;

/** Records when each path is first found by a search for `q`, polling until stopped. */
function watchResults(base: string, q: string, k: number): { seen: Map<string, number>; stop: () => Promise<void> } {
  const seen = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const hits = await search(base, q, k);
        const now = Date.now();
        for (const h of hits) if (!seen.has(h.path)) seen.set(h.path, now);
      } catch {
        // The server is busy starting or stopping: look again.
      }
      await sleep(150);
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function stopServer(server: ServerProcess): Promise<number> {
  const started = Date.now();
  server.child.kill('SIGTERM');
  const code = await server.exited;
  assert.equal(code, 0, server.output());
  return Date.now() - started;
}

test(
  'serve --watch: bursts of new photos are found within 10 s, deleted ones go within 10 s, a renamed folder keeps its vectors',
  { timeout: 300_000 },
  async (t) => {
    const work = tempDir(t);
    const photosDir = join(work, 'photos');
    mkdirSync(photosDir);
    const library = join(work, 'library');
    const server = await startServe(['--library', library, '--model', models.colorClip, 'serve', '--port', '0', '--watch', photosDir]);
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    const photos = await colourPhotos(300);
    const reds = watchResults(server.url, 'red', 300);

    // Six bursts of 50 photos, each into a folder of its own; every fifth photo is
    // written in three chunks 400 ms apart, as a slow copy or a sync client writes.
    const written = new Map<string, number>();
    for (let b = 0; b < 6; b++) {
      await Promise.all(
        photos.slice(b * 50, b * 50 + 50).map(async (photo, i) => {
          const path = join(photosDir, `burst-${b}`, photo.name);
          if (i % 5 === 0) await writeSlowly(path, photo.bytes, 3, 400);
          else await writeAtOnce(path, photo.bytes);
          written.set(path, Date.now());
        }),
      );
      await sleep(300);
    }
    const redPaths = [...written.keys()].filter((p) => basename(p).startsWith('red-'));
    assert.equal(redPaths.length, 50);
    await until('every red photo in the results', 60_000, async () => (redPaths.every((p) => reds.seen.has(p)) ? true : undefined));
    await reds.stop();
    const late = redPaths.map((p) => ({ path: p, ms: reds.seen.get(p)! - written.get(p)! })).filter((r) => r.ms > WITHIN_MS);
    assert.deepEqual(late, [], 'every red photo is found within 10 s of its write completing');
    t.diagnostic(
      `slowest red photo found ${Math.max(...redPaths.map((p) => reds.seen.get(p)! - written.get(p)!))} ms after its write completed`,
    );
    const top = await search(server.url, 'red', 50);
    assert.ok(
      top.every((h) => basename(h.path).startsWith('red-')),
      'the 50 best matches for "red" are the 50 red photos',
    );

    const idle = await until('the watcher to be idle with all 300 embedded', 60_000, async () => {
      const s = await status(server.url);
      return s.embedded === 300 && s.watch?.run === null && s.watch.settling === 0 ? s : undefined;
    });
    assert.equal(idle.images, 300);
    assert.equal(idle.failed, 0, 'no half-written photo was recorded as failed');
    assert.equal(idle.pending, 0);
    assert.equal(idle.watch!.computed, 300, 'each photo embedded once');

    // Deleting 20 red photos: gone from the results within 10 s.
    const doomed = redPaths.filter((p) => !p.includes('/burst-1/')).slice(0, 20);
    assert.equal(doomed.length, 20);
    const deletedAt = Date.now();
    for (const path of doomed) rmSync(path);
    const goneAt = await until('the deleted photos to leave the results', 30_000, async () => {
      const hits = new Set((await search(server.url, 'red', 300)).map((h) => h.path));
      return doomed.some((p) => hits.has(p)) ? undefined : Date.now();
    });
    assert.ok(goneAt - deletedAt <= WITHIN_MS, `deleted photos left the results after ${goneAt - deletedAt} ms`);

    // Renaming a folder: its photos under the new paths, without being embedded again.
    const before = (await status(server.url)).watch!.computed;
    renameSync(join(photosDir, 'burst-1'), join(photosDir, 'renamed-1'));
    const movedReds = redPaths.filter((p) => p.includes('/burst-1/')).map((p) => p.replace('/burst-1/', '/renamed-1/'));
    await until('the renamed folder in the results', 30_000, async () => {
      const hits = new Set((await search(server.url, 'red', 300)).map((h) => h.path));
      const done = movedReds.every((p) => hits.has(p)) && ![...hits].some((p) => p.includes('/burst-1/'));
      return done ? true : undefined;
    });
    // The watcher reports its state every 250 ms: wait for a report from after the rename's embedding.
    const after = await until('the watcher to be idle again, the renamed photos accounted for', 30_000, async () => {
      const s = await status(server.url);
      return s.watch?.run === null && s.pending === 0 && s.watch.reused + s.watch.computed >= before + 50 ? s : undefined;
    });
    assert.equal(after.watch!.computed, before, 'no photo of the renamed folder was embedded again');
    assert.equal(after.watch!.reused, 50, 'the renamed photos reused their vectors');
    assert.equal(after.embedded, 280);

    // SIGTERM stops it within a few seconds; the library is consistent.
    const stopMs = await stopServer(server);
    assert.ok(stopMs < 10_000, `SIGTERM took ${stopMs} ms`);
    const verify = await runCli(['--library', library, 'verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  },
);

test(
  'serve --watch killed with SIGKILL in the middle of a burst resumes on restart: every file embedded exactly once',
  { timeout: 300_000 },
  async (t) => {
    const work = tempDir(t);
    const photosDir = join(work, 'photos');
    mkdirSync(photosDir);
    const library = join(work, 'library');
    const args = ['--library', library, '--model', models.colorClip, 'serve', '--port', '0', '--watch', photosDir, '--batch-size', '4'];
    const photos = await colourPhotos(360);

    const first = await startServe(args);
    t.after(() => {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
    });
    await Promise.all(photos.slice(0, 300).map((p, i) => writeAtOnce(join(photosDir, `part-${i % 3}`, p.name), p.bytes)));
    // Mid-burst: some photos committed, many still to go. The server and its watcher both die at once.
    const mid = await until(
      'the burst to be under way',
      60_000,
      async () => {
        const s = await status(first.url);
        return s.embedded >= 20 && s.watch?.pid ? s : undefined;
      },
      20,
    );
    assert.ok(mid.embedded < 300, `the burst was already over (${mid.embedded} embedded): kill earlier`);
    process.kill(mid.watch!.pid, 'SIGKILL');
    first.child.kill('SIGKILL');
    await first.exited;

    // Changes while nothing runs: new photos, and a deleted one.
    await Promise.all(photos.slice(300).map((p) => writeAtOnce(join(photosDir, 'later', p.name), p.bytes)));
    const deleted = join(photosDir, 'part-0', photos[0].name);
    rmSync(deleted);

    const second = await startServe(args);
    t.after(() => {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
    });
    const done = await until('every photo embedded after the restart', 120_000, async () => {
      const s = await status(second.url);
      return s.embedded === 359 && s.pending === 0 && s.watch?.run === null ? s : undefined;
    });
    assert.equal(done.failed, 0);
    const stopMs = await stopServer(second);
    assert.ok(stopMs < 10_000, `SIGTERM took ${stopMs} ms`);

    // Every file is in the catalogue once, embedded, with a vector of its colour; the deleted one is removed.
    const catalog = await openCatalog({ libraryDir: library }, { mustExist: true });
    try {
      const rows = await catalog.maintenance.readRows(0, 10_000);
      const byPath = new Map<string, number>();
      for (const r of rows) byPath.set(r.path, (byPath.get(r.path) ?? 0) + 1);
      assert.equal(rows.length, 360);
      assert.ok([...byPath.values()].every((n) => n === 1));
      for (const r of rows) {
        assert.equal(r.status, r.path === deleted ? 'removed' : 'embedded', r.path);
        assert.equal(r.vectors.length, 1, `${r.path} has one vector`);
      }
    } finally {
      await catalog.close();
    }
    const verify = await runCli(['--library', library, 'verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const red = await runCli(['--library', library, 'search', 'red', '-n', '60', '--json']);
    const results = (JSON.parse(red.stdout) as { results: { path: string }[] }).results;
    assert.equal(
      results.filter((r) => basename(r.path).startsWith('red-')).length,
      59,
      'every red photo but the deleted one, by its vector',
    );
  },
);
