// The application services in-process, as both front ends call them: a real
// SQLite library, the honest color-clip model, generated colour photos.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findDuplicates } from '../../src/app/duplicates.js';
import { embedLibrary } from '../../src/app/embed-service.js';
import { forgetFolders } from '../../src/app/forget.js';
import { refreshIndex } from '../../src/app/index-service.js';
import { IndexSource } from '../../src/app/index-source.js';
import { openLibrary, type Library } from '../../src/app/library.js';
import { migrateTo } from '../../src/app/migrate.js';
import { ModelLoader } from '../../src/app/model-loader.js';
import { scanFolders } from '../../src/app/scan-service.js';
import { SearchService } from '../../src/app/search-service.js';
import { libraryStatus } from '../../src/app/status.js';
import { repairLibrary, verifyLibrary } from '../../src/app/verify.js';
import { COLOURS, models, tempDir, writeSolidJpeg } from '../support.js';

async function colourLibrary(t: TestContext): Promise<{ library: Library; photos: string; loader: ModelLoader }> {
  const dir = tempDir(t);
  const photos = join(dir, 'photos');
  mkdirSync(join(photos, 'b'), { recursive: true });
  for (const [name, rgb] of Object.entries(COLOURS)) await writeSolidJpeg(join(photos, `${name}.jpg`), rgb);
  await writeSolidJpeg(join(photos, 'b', 'red-small.jpg'), COLOURS.red, 160, 120);
  copyFileSync(join(photos, 'blue.jpg'), join(photos, 'b', 'blue copy.jpg'));
  const library = await openLibrary({ library: join(dir, 'lib') });
  t.after(() => library.catalog.close());
  return { library, photos, loader: new ModelLoader(library.paths, () => {}) };
}

test('scan, embed, index, status, search: the use cases the CLI and the server share', async (t) => {
  const { library, photos, loader } = await colourLibrary(t);
  const scanned = await scanFolders(library.catalog, [photos]);
  assert.deepEqual([scanned.added, scanned.skipped, scanned.removed], [8, 0, 0]);
  const embedded = await embedLibrary(library.catalog, loader, { model: models.colorClip });
  // The copy is in the same batch as its original, so both go through the model.
  assert.deepEqual([embedded?.embedded, embedded?.failed], [8, 0]);
  assert.equal(await embedLibrary(library.catalog, loader, {}), null, 'nothing left to embed');
  const built = await refreshIndex(library.catalog, library.paths);
  assert.equal(built?.manifest.count, 8);
  assert.deepEqual(await libraryStatus(library.catalog, library.paths), {
    images: 8,
    embedded: 8,
    pending: 0,
    failed: 0,
    indexed: 8,
    model: models.colorClip,
    dtype: 'fp32',
    library: library.paths.root,
    spaces: [{ model: models.colorClip, dtype: 'fp32', dims: 6, state: 'active', vectors: 8, failed: 0, missing: 0 }],
  });

  const search = new SearchService(library.catalog, new IndexSource(library.paths.index, library.catalog), loader, {});
  t.after(() => search.close());
  const red = await search.search([{ source: { text: 'red' }, weight: 1 }], { k: 2 });
  assert.equal(red.model, models.colorClip);
  assert.deepEqual(red.results.map((r) => r.path).sort(), [join(photos, 'b', 'red-small.jpg'), join(photos, 'red.jpg')]);
  const inB = await search.search([{ source: { text: 'blue' }, weight: 1 }], { k: 5, filter: { path: { folder: join(photos, 'b') } } });
  assert.deepEqual(
    inB.results.map((r) => r.path),
    [join(photos, 'b', 'blue copy.jpg'), join(photos, 'b', 'red-small.jpg')],
  );
  const redId = red.results.find((r) => r.path.endsWith('/red.jpg'))!.id;
  const like = await search.similar(redId, { k: 1 });
  assert.equal(like?.results[0].path, join(photos, 'b', 'red-small.jpg'));
  assert.equal((await search.imageRecord(redId))?.status, 'embedded');
});

test('duplicates, verify, repair, forget and migrate on the same library', async (t) => {
  const { library, photos, loader } = await colourLibrary(t);
  await scanFolders(library.catalog, [photos]);
  await embedLibrary(library.catalog, loader, { model: models.colorClip });
  await refreshIndex(library.catalog, library.paths);
  const index = await new IndexSource(library.paths.index, library.catalog).current();

  const groups = await findDuplicates(library.catalog, index, { threshold: 0.99 });
  const names = (g: (typeof groups)[number]) => g.images.map((i) => i.path.slice(photos.length + 1));
  assert.deepEqual(
    groups.map((g) => [g.kind, names(g)]),
    [
      ['exact', ['blue.jpg', 'b/blue copy.jpg']],
      ['near', ['red.jpg', 'b/red-small.jpg']],
    ],
  );

  const clean = await verifyLibrary(library.catalog, library.paths);
  assert.equal(clean.ok, true);
  assert.deepEqual((await repairLibrary(library.catalog, library.paths, clean)).requeued, 0);

  const forgotten = await forgetFolders(library, [join(photos, 'b')]);
  assert.equal(forgotten.length, 2);
  assert.equal((await libraryStatus(library.catalog, library.paths)).indexed, 6, 'the index was rebuilt without them');

  const copy = await migrateTo(library.catalog, join(tempDir(t), 'copy'));
  assert.deepEqual([copy.copied, copy.counts.embedded], [6, 6]);
});
