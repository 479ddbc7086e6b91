// scan, embed, build-index and index: filling the catalogue and the index.
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { embedLibrary, type EmbedRequest } from '../../app/embed-service.js';
import { refreshIndex } from '../../app/index-service.js';
import type { Library } from '../../app/library.js';
import type { ModelLoader } from '../../app/model-loader.js';
import { chooseModel } from '../../app/model-choice.js';
import { scanFolders } from '../../app/scan-service.js';
import type { EmbedReport } from '../../pipeline/embed.js';
import { catchInterrupt } from '../interrupt.js';
import { contextOf, withLibrary, type Context } from '../context.js';
import { count } from '../output.js';
import { embedRunRequest, type EmbedRunOptions } from '../options.js';
import { startProgress } from '../progress.js';

interface EmbedOptions extends EmbedRunOptions {
  /** Seconds. */
  lease: number;
}

export async function scan(dirs: string[], _options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<object>(cmd);
  await withLibrary(context, { lock: { purpose: 'scan', catalog: 'scan' } }, (library) => register(context, library, dirs));
}

export async function embed(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<EmbedOptions>(cmd);
  const request = embedRequest(context.options);
  await withLibrary(context, { lock: { purpose: 'embed', catalog: 'embed' } }, (library, loader) =>
    embedAll(context, library, loader, request),
  );
}

export async function buildIndex(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ rebuild?: boolean }>(cmd);
  await withLibrary(context, { lock: { purpose: 'build-index', folder: true } }, async (library) => {
    await chooseModel(library.catalog.models, library.catalog.location, context.options); // refuses a --model that is not the library's
    await index_(context, library, Boolean(context.options.rebuild));
  });
}

export async function index(dirs: string[], _options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<EmbedOptions>(cmd);
  const request = embedRequest(context.options);
  await withLibrary(context, { lock: { purpose: 'index', catalog: 'scan', folder: true } }, async (library, loader) => {
    await chooseModel(library.catalog.models, library.catalog.location, context.options); // fail before a long scan if the model is wrong
    await register(context, library, dirs);
    const embedLock = await library.catalog.lock('embed', 'index');
    try {
      await embedAll(context, library, loader, request);
    } finally {
      await embedLock.release();
    }
    await index_(context, library, false);
  });
}

function embedRequest(options: EmbedOptions & Context<unknown>['options']): EmbedRequest {
  return {
    model: options.model,
    dtype: options.dtype,
    ...embedRunRequest(options),
    worker: `${hostname()} pid ${process.pid}`,
    leaseMs: options.lease * 1000,
  };
}

async function register(context: Context<unknown>, library: Library, dirs: string[]): Promise<void> {
  const { report } = context;
  const progress = startProgress('registering', 'files', null, report.verbosity === 'quiet');
  const result = await scanFolders(library.catalog, dirs, {
    onProblem: (path, reason) => report.warn(`skipped ${path}: ${reason}`),
    onProgress: (seen) => progress.update(seen),
  }).finally(() => progress.stop());
  report.say(
    `registered: ${result.added} new, ${result.changed} changed, ${result.unchanged} unchanged, ${result.removed} removed` +
      `; ${count(result.skipped - result.unreadableNames, 'file')} ${result.skipped - result.unreadableNames === 1 ? 'is not an image' : 'are not images'}` +
      `${result.unreadableNames ? `, ${count(result.unreadableNames, 'name')} ${result.unreadableNames === 1 ? 'is' : 'are'} not UTF-8` : ''} (see picsift errors)` +
      `${result.problems ? `; ${count(result.problems, 'path')} could not be read` : ''}`,
  );
}

async function embedAll(context: Context<unknown>, library: Library, loader: ModelLoader, request: EmbedRequest): Promise<void> {
  const { report } = context;
  let progress: ReturnType<typeof startProgress> | null = null;
  let done = 0;
  // Ctrl-C: stop claiming, finish and commit the batches in flight, say what was kept.
  const interrupt = catchInterrupt(report);
  let result: (EmbedReport & { provider: string }) | null;
  try {
    result = await embedLibrary(
      library.catalog,
      loader,
      { ...request, shouldStop: () => interrupt.requested },
      {
        onRetry: (n) => report.say(`retrying ${count(n, 'failed image')}`),
        onStart: (pending) => (progress = startProgress('embedding', 'images', pending, report.verbosity === 'quiet')),
        onProgress: (n) => progress?.update((done = n)),
        onFailure: (path, reason) => report.warn(`failed ${path}: ${reason}`),
        onWait: () =>
          report.say(
            'nothing left to claim; waiting for the images other workers hold (a dead worker’s come back when its claims expire)…',
          ),
      },
    );
  } catch (err) {
    throw explainWriteFailure(err);
  } finally {
    (progress as ReturnType<typeof startProgress> | null)?.stop();
    interrupt.release();
  }
  if (!result) {
    report.say('nothing to embed: every registered image has a vector or a recorded failure');
    return;
  }
  if (interrupt.requested) {
    report.warn(`interrupted: ${count(done, 'image')} embedded and kept; run the same command to continue`);
    process.exit(130);
  }
  const rate = result.seconds > 0 ? (result.embedded / result.seconds).toFixed(1) : '0';
  report.say(
    `embedded ${count(result.embedded, 'image')} in ${result.seconds.toFixed(1)} s (${rate} images/s on ${result.provider === 'cpu' ? 'the CPU' : result.provider})` +
      `${result.reused ? `, ${result.reused} reused the vector of identical content` : ''}, ${result.failed} failed` +
      `${result.failed ? ' (see picsift errors)' : ''}` +
      `${result.lost ? `; ${count(result.lost, 'image')} had been taken over by another worker` : ''}`,
  );
}

async function index_(context: Context<unknown>, library: Library, rebuild: boolean): Promise<void> {
  const result = await refreshIndex(library.catalog, library.paths, { rebuild });
  if (!result) {
    context.report.say('nothing to index yet: no image has been embedded');
    return;
  }
  context.report.say(
    `${result.refreshed ? 'refreshed' : 'built'} index: ${count(result.added, 'vector')} added, ${result.manifest.count} in the index`,
  );
}

/** A full disk or an I/O error while committing: the batch was rolled back, nothing committed is lost. */
function explainWriteFailure(err: unknown): Error {
  const code = (err as { code?: string }).code ?? '';
  if (['SQLITE_FULL', 'ENOSPC', 'SQLITE_IOERR', 'EIO', '53100'].some((c) => code.startsWith(c))) {
    const full = code === 'SQLITE_FULL' || code === 'ENOSPC' || code === '53100';
    return new Error(
      `${full ? 'the disk is full' : 'an I/O error occurred'} while saving vectors ` +
        `(${(err as Error).message}). Every batch committed before it is safe; free space and run the same command again to resume.`,
      { cause: err },
    );
  }
  return err as Error;
}
