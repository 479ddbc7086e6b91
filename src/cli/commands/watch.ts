// `picsift watch` (headless) and the watch options of `picsift serve --watch`.
import type { Command } from 'commander';
import { IndexRefresher } from '../../app/index-refresher.js';
import { WatchService, type WatchConfig } from '../../app/watch-service.js';
import { contextOf, withLibrary } from '../context.js';

export interface WatchCliOptions {
  rescan: number;
  settle: number;
  embedThreads?: number;
  batchSize?: number;
  model?: string;
  dtype?: string;
}

/** The watcher's configuration from the command line's options. */
export function watchConfig(dirs: readonly string[], options: WatchCliOptions): WatchConfig {
  return {
    dirs,
    rescanMs: options.rescan * 60_000,
    settleMs: options.settle * 1000,
    embedThreads: options.embedThreads,
    batchSize: options.batchSize,
    model: options.model,
    dtype: options.dtype,
  };
}

export async function watch(dirs: string[], _options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<WatchCliOptions>(cmd);
  const { report, options } = context;
  await withLibrary(context, {}, async (library, loader) => {
    const refresher = new IndexRefresher(library.catalog, {
      target: { url: options.catalog, libraryDir: library.paths.root },
      indexDir: library.paths.index,
      onError: (line) => report.warn(`picsift: ${line}`),
      onBuilt: (r) => report.say(`picsift: index ${r.refreshed ? 'extended' : 'built'}: ${r.added} vectors added, ${r.count} in the index`),
    });
    const service = new WatchService(
      library.catalog,
      library.paths,
      loader,
      watchConfig(dirs, options),
      { say: (line) => report.say(`picsift: ${line}`), warn: (line) => report.warn(`picsift: ${line}`) },
      refresher,
    );
    await service.start();
    refresher.start();
    const state = service.state();
    report.say(`picsift: watching ${state.roots.join(', ')} (full rescan every ${options.rescan} min); Ctrl-C stops`);
    // A line now and then while photos are being embedded, as `embed` prints without a terminal.
    let last = '';
    const timer = setInterval(() => {
      const run = service.state().run;
      const line = run ? `embedding ${run.done} of ${run.total} new photos · ${run.perSecond.toFixed(1)}/s` : '';
      if (line && line !== last) report.say(`picsift: ${line}`);
      last = line;
    }, 5000);
    const stop = (signal: string): void => {
      report.say(`picsift: ${signal}, finishing the batch in flight…`);
      clearInterval(timer);
      void refresher.stop().then(() => service.stop());
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    await service.done();
    clearInterval(timer);
    await refresher.stop();
    await service.stop();
    const end = service.state();
    if (end.error) throw new Error(end.error);
    report.say(
      `picsift: stopped; ${end.computed} embedded by the model, ${end.reused} reused, ${end.failed} failed, ${end.removed} removed`,
    );
  });
}
