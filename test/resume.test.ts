// Promise 1: it never loses work. embed and build-index are killed with SIGKILL
// at random moments; each time the same command resumes, and in the end every
// image is embedded exactly once, with the vector an uninterrupted run gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { COLOURS, cosine, models, runCli, seededRandom, sharedDir, startCli, tempDir, writeSolidJpeg, vectorsByPath } from './support.js';

const cifar = join(sharedDir, 'data', 'cifar10-test', 'test');
const KILLS = 24;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  `embed survives ${KILLS} SIGKILLs and ends with every image embedded once, as an uninterrupted run`,
  { timeout: 600_000 },
  async (t) => {
    const work = tempDir(t);
    const generated = join(work, 'generated');
    mkdirSync(generated);
    // Larger generated photos beside the 32×32 CIFAR images, so kills land in decoding too.
    for (let i = 0; i < 60; i++) {
      const rgb = Object.values(COLOURS)[i % 6].map((c) => (c + i * 3) % 256) as [number, number, number];
      await writeSolidJpeg(join(generated, `g${i}.jpg`), rgb, 800 + i, 600);
    }
    const folders = [join(cifar, 'airplane'), join(cifar, 'cat'), generated];

    const reference = join(work, 'reference');
    const uninterrupted = await runCli(['--library', reference, '--model', models.tinyClip, 'index', ...folders]);
    assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
    const expected = await vectorsByPath(reference);
    assert.equal(expected.size, 2060);

    const library = join(work, 'killed');
    const lib = ['--library', library, '--model', models.tinyClip];
    assert.equal((await runCli([...lib, 'scan', ...folders])).code, 0);

    // Kill moments: every fourth run at a random instant of start-up (opening the
    // library, loading the model); the others a random 0–400 ms after the run has
    // committed a new batch, so that kills land in decoding, encoding and commits
    // whatever the speed of the machine.
    const random = seededRandom(20261124);
    const embeddedSoFar = (): number => {
      const db = new Database(join(library, 'catalog.sqlite'), { readonly: true });
      try {
        return (db.prepare(`SELECT count(*) AS n FROM images WHERE status = 'embedded'`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    let kills = 0;
    let progressSeen = 0;
    while (kills < KILLS) {
      const before = embeddedSoFar();
      const { child, done } = startCli([...lib, 'embed', '--batch-size', '8']);
      if (kills % 4 === 0) {
        await sleep(50 + random() * 400);
      } else {
        while (embeddedSoFar() === before && child.exitCode === null) await sleep(20);
        await sleep(random() * 400);
      }
      const finished = child.exitCode !== null;
      if (!finished) child.kill('SIGKILL');
      const result = await done;
      if (finished) {
        assert.equal(result.code, 0, result.stderr);
        break; // everything was embedded before this kill could land
      }
      kills++;
      const status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
      assert.equal(status.embedded + status.pending + status.failed, status.images, 'counts stay consistent after a kill');
      progressSeen = Math.max(progressSeen, status.embedded);
    }
    assert.ok(kills >= 20, `only ${kills} kills landed before the run finished`);
    assert.ok(progressSeen > 0, 'runs between kills made progress');

    const last = await runCli([...lib, 'index', ...folders]);
    assert.equal(last.code, 0, last.stderr);
    const status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
    assert.deepEqual([status.images, status.embedded, status.pending, status.failed], [2060, 2060, 0, 0]);
    const verify = await runCli([...lib, 'verify', '--json']);
    assert.equal(verify.code, 0, verify.stdout);

    const got = await vectorsByPath(library);
    assert.equal(got.size, expected.size);
    let worst = 1;
    for (const [path, vector] of expected) worst = Math.min(worst, cosine(vector, got.get(path)!));
    assert.ok(worst >= 0.9999, `worst cosine to the uninterrupted run: ${worst}`);
    t.diagnostic(`${kills} kills survived; worst cosine ${worst.toFixed(6)}`);
  },
);

test('build-index killed at random moments leaves a usable index or an exact fallback', { timeout: 300_000 }, async (t) => {
  const work = tempDir(t);
  const lib = ['--library', join(work, 'lib'), '--model', models.tinyClip];
  assert.equal((await runCli([...lib, 'index', join(cifar, 'dog')])).code, 0);
  // --all: the same ranking (random weights have no matches to cut at).
  const before = JSON.parse((await runCli([...lib, 'search-text', 'a photo of a dog', '--json', '-n', '10', '--all'])).stdout);
  const random = seededRandom(7);
  for (let i = 0; i < 8; i++) {
    const { child, done } = startCli([...lib, 'build-index', '--rebuild']);
    await sleep(200 + random() * 500);
    child.kill('SIGKILL');
    await done;
    const after = await runCli([...lib, 'search-text', 'a photo of a dog', '--json', '-n', '10', '--all']);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(
      JSON.parse(after.stdout).results.map((r: { id: number }) => r.id),
      before.results.map((r: { id: number }) => r.id),
    );
  }
  assert.equal((await runCli([...lib, 'verify'])).code, 0);
});
