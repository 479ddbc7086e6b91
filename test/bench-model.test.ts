// The real CLIP ViT-B/32 architecture (random weights, real shapes and tokenizer)
// through the whole pipeline on real camera photos, in fp32 and int8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { allOf, models, runCli, sharedDir, tempDir } from './support.js';

const photos = join(sharedDir, 'data', 'photos');
const photoCount = readdirSync(photos).filter((f) => /\.jpe?g$/i.test(f)).length;

for (const dtype of ['fp32', 'q8']) {
  test(`clip-vit-b32-arch (${dtype}) embeds every photo as a 512-d unit vector and searches`, async (t) => {
    const library = tempDir(t);
    const cli = (...args: string[]) => runCli(['--library', library, ...args]);
    const indexed = await cli('--model', models.benchClip, '--dtype', dtype, 'index', photos);
    assert.equal(indexed.code, 0, indexed.stderr);

    const status = JSON.parse((await cli('status', '--json')).stdout);
    assert.deepEqual(
      { images: status.images, embedded: status.embedded, pending: status.pending, failed: status.failed, indexed: status.indexed },
      { images: photoCount, embedded: photoCount, pending: 0, failed: 0, indexed: photoCount },
    );

    const catalog = await openCatalog({ libraryDir: library }, { mustExist: true });
    try {
      const vectors = await allOf(catalog.vectors.tail(0));
      assert.equal(vectors.length, photoCount);
      for (const v of vectors) {
        assert.equal(v.vector.length, 512);
        assert.ok(Math.abs(Math.hypot(...v.vector) - 1) < 1e-4);
      }
      const records = await catalog.images.get(vectors.map((v) => v.id));
      for (const r of records.values()) assert.ok(r.width! > 0 && r.height! > 0 && /^[0-9a-f]{64}$/.test(r.contentHash!));
    } finally {
      await catalog.close();
    }

    const search = await cli('search-text', 'a photo of a dog', '--json', '-n', '7', '--all');
    assert.equal(search.code, 0, search.stderr);
    const results = JSON.parse(search.stdout).results;
    assert.equal(results.length, 7);
    assert.ok(results.every((r: { score: number }) => Number.isFinite(r.score) && r.score <= 1 && r.score >= -1));
    // Random weights: nothing really matches, so the adaptive cut-off shows few photos or none, never all.
    const matches = JSON.parse((await cli('search-text', 'a photo of a dog', '--json', '-n', '1000')).stdout);
    assert.equal(matches.cutoff.source, 'adaptive');
    assert.ok(matches.results.length <= Math.max(2, photoCount / 10), `${matches.results.length} of ${photoCount} shown`);
  });
}
