// Changing the model of a library without losing search (issue 14), through the
// real command line: reembed fills a second set of vectors while searches keep
// using the old model with complete results, survives kill -9 and resumes, is
// refused where it must be, and after the switch every search uses the new model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeColourPhotos } from './server-fixture.js';
import { models, runCli, sharedDir, startCli, tempDir } from './support.js';

interface Status {
  embedded: number;
  indexed: number;
  model: string;
  spaces: { model: string; state: string; vectors: number; failed: number; missing: number }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test(
  'reembed: searches keep the old model meanwhile, kill -9 resumes, use-model switches, drop-model frees',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t);
    const library = join(dir, 'lib');
    const cli = (...args: string[]) => runCli(['--library', library, ...args]);
    const colours = join(dir, 'colours');
    await writeColourPhotos(colours, 4);
    const cifar = join(sharedDir, 'data', 'cifar10-test', 'test');
    // Enough photos that the re-embedding is still running when it is killed.
    const indexed = await cli(
      '--model',
      models.tinyClip,
      'index',
      colours,
      join(cifar, 'ship'),
      join(cifar, 'truck'),
      join(cifar, 'horse'),
    );
    assert.equal(indexed.code, 0, indexed.stderr);
    const status = async (): Promise<Status> => JSON.parse((await cli('status', '--json')).stdout) as Status;
    const { embedded } = await status();
    assert.equal(embedded, 3000 + 24);
    const ranking = async (query: string) => {
      const r = await cli('search-text', query, '--json', '--all', '-n', '1000');
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { model: string; results: { id: number }[] };
    };
    const before = await ranking('red');

    const first = startCli(['--library', library, 'reembed', '--model', models.colorClip, '--batch-size', '8']);
    let progress = await status();
    while ((progress.spaces[1]?.vectors ?? 0) < 100) {
      assert.equal(first.child.exitCode, null, 'the reembed is still running');
      await sleep(100);
      progress = await status();
    }
    // Meanwhile: the old model, complete results, nothing of the new space.
    const during = await ranking('red');
    assert.equal(during.model, models.tinyClip);
    assert.deepEqual(
      during.results.map((r) => r.id),
      before.results.map((r) => r.id),
    );
    assert.equal(progress.model, models.tinyClip);
    assert.deepEqual(
      progress.spaces.map((s) => [s.model, s.state]),
      [
        [models.tinyClip, 'active'],
        [models.colorClip, 'building'],
      ],
    );
    const text = (await cli('status')).stdout;
    assert.match(text, /reembed {3}.*color-clip \(fp32\): [\d,]+ of 3,024 \(\d+%\); `picsift reembed --model .*color-clip` continues/);
    const twice = await cli('reembed', '--model', models.colorClip);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /another picsift process \(pid \d+, reembed, since .*\) is writing library/);

    first.child.kill('SIGKILL');
    await first.done;
    const killed = await status();
    const done = killed.spaces[1].vectors;
    assert.ok(done >= 100 && done < embedded, `${done} of ${embedded} re-embedded before the kill`);
    assert.equal(killed.spaces[1].missing, embedded - done);

    // Refusals, each saying why.
    const early = await cli('use-model', models.colorClip);
    assert.equal(early.code, 1);
    assert.match(
      early.stderr,
      new RegExp(
        `cannot switch to .*color-clip \\(fp32, 6-d\\) yet: ${(embedded - done).toLocaleString('en-US')} embedded images still lack`,
      ),
    );
    const same = await cli('reembed', '--model', models.tinyClip);
    assert.equal(same.code, 1);
    assert.match(same.stderr, /tiny-clip \(fp32, \d+-d\) is already the library's model: nothing to re-embed/);
    const other = await cli('reembed', '--model', models.colorSiglip);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /already being re-embedded with .*color-clip \(fp32, 6-d\); finish that first/);

    // verify checks both models' vectors.
    const verified = await cli('verify', '--json');
    assert.equal(verified.code, 0, verified.stdout);
    const report = JSON.parse(verified.stdout) as { ok: boolean; spaces: { model: string; state: string }[] };
    assert.deepEqual(
      report.spaces.map((s) => s.state),
      ['active', 'building'],
    );
    assert.match((await cli('verify')).stderr, /checked the vectors of .*color-clip \(being re-embedded\) too/);

    // The same command resumes where the kill left it, and switches when complete.
    const resumed = await cli('reembed', '--model', models.colorClip, '--switch');
    assert.equal(resumed.code, 0, resumed.stderr);
    const left = Number(/([\d,]+) images? to go/.exec(resumed.stderr)?.[1].replace(/,/g, ''));
    assert.equal(left, embedded - done, 'only what the killed run had not committed');
    assert.match(
      resumed.stderr,
      /the library now searches with .*color-clip \(fp32, 6-d\); index rebuilt from its vectors \(3,024 vectors\)/,
    );

    const after = await status();
    assert.equal(after.model, models.colorClip);
    assert.equal(after.indexed, embedded);
    assert.deepEqual(
      after.spaces.map((s) => [s.model, s.state, s.vectors]),
      [
        [models.tinyClip, 'retired', embedded],
        [models.colorClip, 'active', embedded],
      ],
    );
    const red = await cli('search-text', 'red', '--json', '-n', '1000');
    const body = JSON.parse(red.stdout) as { model: string; results: { path: string }[] };
    assert.equal(body.model, models.colorClip);
    // The new model finds the four red photos (and red trucks and ships among CIFAR's), no other colour photo.
    assert.deepEqual(
      body.results.filter((r) => r.path.startsWith(`${colours}/`)).map((r) => r.path.slice(colours.length + 1, colours.length + 5)),
      ['red-', 'red-', 'red-', 'red-'],
    );
    assert.equal((await cli('verify')).code, 0);
    assert.equal((await cli('--model', models.tinyClip, 'search-text', 'red')).code, 1, 'the old model is no longer the library’s');

    const dropped = await cli('drop-model', models.tinyClip);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.match(dropped.stderr, /dropped 3,024 vectors of .*tiny-clip/);
    assert.deepEqual(
      (await status()).spaces.map((s) => s.state),
      ['active'],
    );
    const active = await cli('drop-model', models.colorClip);
    assert.equal(active.code, 1);
    assert.match(active.stderr, /is the library's model; switch to another one first/);
  },
);
