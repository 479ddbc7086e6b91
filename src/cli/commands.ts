// What each command does, in terms of the core modules. Kept free of parsing.
import { chooseModel, type ModelRequest } from '../app/model-choice.js';
import { searchText } from '../app/text-search.js';
import type { Catalog } from '../catalog/catalog.js';
import { WriterLock } from '../catalog/writer-lock.js';
import { AnnIndex, buildIndex } from '../index/ann-index.js';
import { libraryStatus } from '../app/status.js';
import { openLibrary, type LibraryPaths } from '../library.js';
import { ImageEncoder, TextEncoder } from '../model/encoders.js';
import { resolveModel, type ModelSpec, type ResolvedModel } from '../model/model-files.js';
import { embedPending } from '../pipeline/embed.js';
import { registerFolders } from '../pipeline/register.js';
import { searchJson, searchTable, statusJson, statusText } from './output.js';
import { startProgress } from './progress.js';

interface GlobalOptions extends ModelRequest {
  library: string;
}

interface EmbedOptions extends GlobalOptions {
  batchSize: number;
  maxPixels: number;
}

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function withLibrary<T>(options: GlobalOptions, work: (catalog: Catalog, paths: LibraryPaths) => Promise<T>): Promise<T> {
  const { catalog, paths } = openLibrary(options.library);
  try {
    return await work(catalog, paths);
  } finally {
    catalog.close();
  }
}

/** Commands that change the library hold its writer lock; readers (search, status) never wait for it. */
function asWriter<T>(
  options: GlobalOptions,
  purpose: string,
  work: (catalog: Catalog, paths: LibraryPaths) => Promise<T>,
): Promise<T> {
  return withLibrary(options, async (catalog, paths) => {
    const lock = WriterLock.acquire(paths.root, purpose);
    try {
      return await work(catalog, paths);
    } finally {
      lock.release();
    }
  });
}

function resolve(spec: ModelSpec, paths: LibraryPaths): Promise<ResolvedModel> {
  return resolveModel(spec, {
    cacheDir: paths.modelCache,
    onDownload: (id) => say(`downloading model ${id} into ${paths.modelCache} (once; later runs work offline)…`),
  });
}

async function register(catalog: Catalog, dirs: string[]): Promise<void> {
  const progress = startProgress('registering', 'files', 0);
  const report = await registerFolders(catalog, dirs, {
    onProblem: (path, reason) => say(`skipped ${path}: ${reason}`),
    onProgress: (seen) => progress.update(seen, seen),
  });
  progress.stop();
  say(
    `registered: ${report.added} new, ${report.changed} changed, ${report.unchanged} unchanged` +
      `, ${report.skipped} non-image files skipped${report.problems ? `, ${report.problems} unreadable` : ''}`,
  );
}

async function embed(catalog: Catalog, paths: LibraryPaths, options: EmbedOptions): Promise<void> {
  const pending = catalog.counts().pending;
  const spec = chooseModel(catalog, options);
  if (pending === 0) {
    say('nothing to embed: every registered image has a vector or a recorded failure');
    return;
  }
  const encoder = await ImageEncoder.load(await resolve(spec, paths));
  try {
    catalog.claimModel({ id: spec.id, dtype: spec.dtype, dims: encoder.dims });
    const progress = startProgress('embedding', 'images', pending);
    const report = await embedPending(catalog, encoder, {
      batchSize: options.batchSize,
      maxPixels: options.maxPixels,
      onProgress: (p) => progress.update(p.done),
      onFailure: (path, reason) => say(`failed ${path}: ${reason}`),
    });
    progress.stop();
    const rate = report.seconds > 0 ? (report.embedded / report.seconds).toFixed(1) : '0';
    say(`embedded ${report.embedded} images in ${report.seconds.toFixed(1)} s (${rate} images/s), ${report.failed} failed`);
  } finally {
    await encoder.close();
  }
}

function refreshIndex(catalog: Catalog, paths: LibraryPaths, rebuild: boolean): void {
  const model = catalog.model();
  if (!model) {
    say('nothing to index yet: no image has been embedded');
    return;
  }
  const result = buildIndex(paths.index, model, (seq) => catalog.vectorsAfter(seq), { rebuild });
  say(
    `${result.refreshed ? 'refreshed' : 'built'} index: ${result.added} vectors added, ${result.manifest.count} in the index`,
  );
}

export const commands = {
  scan: (options: GlobalOptions, dirs: string[]) => asWriter(options, 'scan', (catalog) => register(catalog, dirs)),

  embed: (options: EmbedOptions) => asWriter(options, 'embed', (catalog, paths) => embed(catalog, paths, options)),

  buildIndex: (options: GlobalOptions & { rebuild?: boolean }) =>
    asWriter(options, 'build-index', async (catalog, paths) => {
      chooseModel(catalog, options); // refuses a --model that is not the library's
      refreshIndex(catalog, paths, Boolean(options.rebuild));
    }),

  index: (options: EmbedOptions, dirs: string[]) =>
    asWriter(options, 'index', async (catalog, paths) => {
      chooseModel(catalog, options); // fail before a long scan if the model is wrong
      await register(catalog, dirs);
      await embed(catalog, paths, options);
      refreshIndex(catalog, paths, false);
    }),

  searchText: (options: GlobalOptions & { n: number; json?: boolean }, query: string) =>
    withLibrary(options, async (catalog, paths) => {
      const spec = chooseModel(catalog, options);
      if (query.trim() === '') throw new Error('the query is empty');
      let results: Awaited<ReturnType<typeof searchText>> = [];
      if (catalog.counts().embedded === 0) {
        say(`library ${paths.root} has no embedded images yet: run \`picsift index DIR\` first`);
      } else {
        const encoder = await TextEncoder.load(await resolve(spec, paths));
        try {
          results = await searchText(catalog, AnnIndex.open(paths.index), encoder, query, options.n);
        } finally {
          await encoder.close();
        }
      }
      process.stdout.write(`${options.json ? searchJson(query, spec.id, results) : searchTable(results)}\n`);
    }),

  status: (options: GlobalOptions & { json?: boolean }) =>
    withLibrary(options, async (catalog, paths) => {
      const report = libraryStatus(catalog, paths);
      process.stdout.write(`${options.json ? statusJson(report) : statusText(report, paths.root, catalog.model()?.dtype ?? null)}\n`);
    }),
};
