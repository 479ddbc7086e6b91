// What each command does, in terms of the core modules. Kept free of parsing.
import { chooseModel, type ModelRequest } from '../app/model-choice.js';
import type { SearchResult } from '../app/search-results.js';
import { rankByVector } from '../app/ranking.js';
import { embedImageFile, parseImageRef } from '../app/image-query.js';
import { CLI_TERM_NAMES, parseExtraTerms, queryVector, type ExtraTerms, type WeightedTerm } from '../app/query-terms.js';
import { findDuplicates } from '../app/duplicates.js';
import { CLI_FILTER_NAMES, parseFilter, type RawFilter } from '../search/search-filter.js';
import type { Catalog } from '../catalog/catalog.js';
import { WriterLock } from '../catalog/writer-lock.js';
import { AnnIndex, buildIndex } from '../index/ann-index.js';
import { libraryStatus } from '../app/status.js';
import { repairLibrary, verifyLibrary } from '../app/verify.js';
import { exportLegacy } from '../legacy/export-legacy.js';
import { importLegacy } from '../legacy/import-legacy.js';
import { resolve as resolvePath } from 'node:path';
import { openLibrary, type LibraryPaths } from '../library.js';
import { ImageEncoder, TextEncoder } from '../model/encoders.js';
import { resolveModel, type ModelSpec, type ResolvedModel } from '../model/model-files.js';
import { embedPending } from '../pipeline/embed.js';
import { registerFolders } from '../pipeline/register.js';
import { duplicatesJson, duplicatesText, searchJson, searchTable, statusJson, statusText } from './output.js';
import { startProgress } from './progress.js';

interface GlobalOptions extends ModelRequest {
  library: string;
}

export interface SearchOptions extends GlobalOptions, ExtraTerms, RawFilter {
  n: number;
  json?: boolean;
  threshold?: number;
}

/**
 * Shared by search-text and search-image: validates everything before loading a
 * model, builds the combined query vector, ranks with the filter and cut-off.
 */
function search(options: SearchOptions, label: string, base: WeightedTerm, exclude?: number): Promise<void> {
  const filter = parseFilter(options, CLI_FILTER_NAMES);
  const terms = [base, ...parseExtraTerms(options, CLI_TERM_NAMES)];
  return withLibrary(options, async (catalog, paths) => {
    const spec = chooseModel(catalog, options);
    let results: SearchResult[] = [];
    if (!catalog.hasEmbedded()) {
      say(`library ${paths.root} has no embedded images yet: run \`picsift index DIR\` first`);
    } else {
      const needs = (kind: 'text' | 'file') =>
        terms.some((t) => (kind === 'text' ? 'text' in t.source : 'image' in t.source && 'path' in t.source.image));
      const resolved = needs('text') || needs('file') ? await resolve(spec, paths) : null;
      let text: TextEncoder | null = null;
      let image: ImageEncoder | null = null;
      try {
        if (needs('text')) text = await TextEncoder.load(resolved!);
        if (needs('file')) image = await ImageEncoder.load(resolved!);
        const vector = await queryVector(catalog, terms, {
          encodeTexts: (texts) => text!.encode(texts),
          encodeImageFile: (path) => embedImageFile(image!, path),
        });
        results = rankByVector(catalog, AnnIndex.open(paths.index), vector, {
          k: options.n,
          threshold: options.threshold,
          filter,
          exclude,
        });
      } finally {
        await text?.close();
        await image?.close();
      }
    }
    process.stdout.write(`${options.json ? searchJson(label, spec.id, results) : searchTable(results)}\n`);
  });
}

interface EmbedOptions extends GlobalOptions {
  batchSize: number;
  maxPixels: number;
  /** Seconds. */
  fileTimeout: number;
  retryFailed?: boolean;
}

/** A full disk or an I/O error while committing: the batch was rolled back, nothing committed is lost. */
function explainWriteFailure(err: unknown): Error {
  const code = (err as { code?: string }).code ?? '';
  if (['SQLITE_FULL', 'ENOSPC', 'SQLITE_IOERR', 'EIO'].some((c) => code.startsWith(c))) {
    return new Error(
      `${code === 'SQLITE_FULL' || code === 'ENOSPC' ? 'the disk is full' : 'an I/O error occurred'} while saving vectors ` +
        `(${(err as Error).message}). Every batch committed before it is safe; free space and run the same command again to resume.`,
    );
  }
  return err as Error;
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
function asWriter<T>(options: GlobalOptions, purpose: string, work: (catalog: Catalog, paths: LibraryPaths) => Promise<T>): Promise<T> {
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
    `registered: ${report.added} new, ${report.changed} changed, ${report.unchanged} unchanged, ${report.removed} removed` +
      `; ${report.skipped} files are not images (see picsift errors)${report.problems ? `; ${report.problems} could not be read` : ''}`,
  );
}

async function embed(catalog: Catalog, paths: LibraryPaths, options: EmbedOptions): Promise<void> {
  if (options.retryFailed) say(`retrying ${catalog.retryFailed()} failed images`);
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
      fileTimeoutMs: options.fileTimeout * 1000,
      onProgress: (p) => progress.update(p.done),
      onFailure: (path, reason) => say(`failed ${path}: ${reason}`),
    }).catch((err: unknown) => {
      progress.stop();
      throw explainWriteFailure(err);
    });
    progress.stop();
    const rate = report.seconds > 0 ? (report.embedded / report.seconds).toFixed(1) : '0';
    say(
      `embedded ${report.embedded} images in ${report.seconds.toFixed(1)} s (${rate} images/s)` +
        `${report.reused ? `, ${report.reused} reused the vector of identical content` : ''}, ${report.failed} failed` +
        `${report.failed ? ' (see picsift errors)' : ''}`,
    );
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
  say(`${result.refreshed ? 'refreshed' : 'built'} index: ${result.added} vectors added, ${result.manifest.count} in the index`);
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

  searchText: (options: SearchOptions, query: string) => {
    if (query.trim() === '') throw new Error('the query is empty');
    return search(options, query, { source: { text: query }, weight: 1 });
  },

  searchImage: (options: SearchOptions, pathOrId: string) => {
    const image = parseImageRef(pathOrId, 'search-image');
    // A catalogued image is never its own result; a file is not in the library (or is, as a copy: then it stays).
    return search(options, pathOrId, { source: { image }, weight: 1 }, 'id' in image ? image.id : undefined);
  },

  duplicates: (options: GlobalOptions & { json?: boolean; threshold: number }) =>
    withLibrary(options, async (catalog, paths) => {
      const index = AnnIndex.open(paths.index);
      const behind = catalog.counts().embedded - (index?.manifest.count ?? 0);
      if (behind > 1000) say(`the index lacks ${behind} vectors: run picsift build-index first, or this takes long`);
      const groups = findDuplicates(catalog, index, { threshold: options.threshold });
      process.stdout.write(`${options.json ? duplicatesJson(options.threshold, groups) : duplicatesText(groups)}\n`);
      say(`${groups.length} groups of duplicates (near: cosine ≥ ${options.threshold})`);
    }),

  status: (options: GlobalOptions & { json?: boolean }) =>
    withLibrary(options, async (catalog, paths) => {
      const report = libraryStatus(catalog, paths);
      process.stdout.write(`${options.json ? statusJson(report) : statusText(report, paths.root, catalog.model()?.dtype ?? null)}\n`);
    }),

  errors: (options: GlobalOptions & { json?: boolean }) =>
    withLibrary(options, async (catalog) => {
      const { failed, skipped } = catalog.failures();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ failed, skipped })}\n`);
        return;
      }
      for (const f of [...failed, ...skipped]) process.stdout.write(`${f.path}\t${f.reason}\n`);
      say(
        `${failed.length} images failed${failed.length ? ' (`picsift embed --retry-failed` tries them again)' : ''}, ` +
          `${skipped.length} files skipped as not images`,
      );
    }),

  forget: (options: GlobalOptions, dirs: string[]) =>
    asWriter(options, 'forget', async (catalog, paths) => {
      let forgotten = 0;
      for (const dir of dirs) forgotten += catalog.forget(resolvePath(dir));
      say(`forgot ${forgotten} images under ${dirs.join(', ')}`);
      if (forgotten > 0) refreshIndex(catalog, paths, true);
    }),

  verify: (options: GlobalOptions & { json?: boolean }) =>
    withLibrary(options, async (catalog, paths) => {
      const report = verifyLibrary(catalog, paths);
      if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        for (const p of report.catalog) process.stdout.write(`${p.kind}\timage ${p.imageId}\t${p.path ?? ''}\t${p.detail}\n`);
        for (const p of report.index) process.stdout.write(`${p.kind}\t${p.detail}\n`);
        say(
          report.ok
            ? `library is consistent: ${report.images} images, ${report.vectors} vectors`
            : `${report.catalog.length + report.index.length} problems; \`picsift repair\` fixes them`,
        );
      }
      if (!report.ok) process.exitCode = 1;
    }),

  repair: (options: GlobalOptions) =>
    asWriter(options, 'repair', async (catalog, paths) => {
      const report = verifyLibrary(catalog, paths);
      if (report.ok) {
        say('nothing to repair');
        return;
      }
      const fixed = repairLibrary(catalog, paths, report);
      say(
        `repaired: ${fixed.requeued} images go back to the embed queue (run picsift embed)${fixed.indexRebuilt ? '; index rebuilt' : ''}`,
      );
    }),

  importLegacy: (options: GlobalOptions & { db: string; embeddings: string }) =>
    asWriter(options, 'import-legacy', async (catalog) => {
      const spec = chooseModel(catalog, options);
      const report = importLegacy(catalog, options.db, options.embeddings, (dims) =>
        catalog.claimModel({ id: spec.id, dtype: spec.dtype, dims }),
      );
      say(
        `imported ${report.rows} rows: ${report.embedded} with their vector kept, ${report.pending} pending ` +
          `(${report.invalid} without a valid vector among the ${report.vectors} in the .npy)` +
          `${report.skipped ? `, ${report.skipped} already in the library` : ''}; \`picsift embed\` computes the missing ones`,
      );
    }),

  export: (options: GlobalOptions & { out: string }) =>
    asWriter(options, 'export', async (catalog) => {
      const model = catalog.model();
      if (!model) throw new Error('nothing to export: the library has no embedded images');
      const result = exportLegacy(catalog, resolvePath(options.out), model.dims);
      say(`exported ${result.images} images and ${result.vectors} vectors to ${resolvePath(options.out)} (embeddings.npy, metadata.db)`);
    }),
};
