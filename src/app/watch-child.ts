// The process `serve --watch` runs its watcher in (background-watch.ts starts it).
// Registration, hashing, decoding, the image model and index builds all run here,
// at a lower CPU priority and with their own thread pool, so the server's event
// loop, its libuv threads (thumbnails, file reads) and its query model never wait
// behind them. It reports its state to the server over the IPC channel, and stops
// cleanly (committing the batch in flight) when told to, when the server goes
// away, or on SIGINT/SIGTERM.
import { setPriority } from 'node:os';
import { IndexRefresher } from './index-refresher.js';
import { openLibrary } from './library.js';
import { ModelLoader } from './model-loader.js';
import { WatchService, type WatchConfig, type WatchState } from './watch-service.js';
import type { RefresherState } from './index-refresher.js';

export interface ChildStart {
  kind: 'start';
  library: string;
  catalog?: string;
  watch: WatchConfig;
  /** Nice value for this process (0: as the server). */
  nice: number;
  /** IndexRefresher settings (tests make it eager). */
  index?: { pollMs?: number; minTail?: number; maxLagMs?: number };
}

export type ChildMessage =
  | { kind: 'started' }
  | { kind: 'state'; watch: WatchState; index: RefresherState }
  | { kind: 'line'; level: 'say' | 'warn'; line: string }
  | { kind: 'failed'; message: string };

const send = (message: ChildMessage): void => {
  if (process.connected) process.send!(message);
};

async function run(start: ChildStart): Promise<void> {
  if (start.nice > 0) {
    try {
      // Before the model, decoder and index threads exist: they inherit it.
      setPriority(0, start.nice);
    } catch {
      // Not allowed here: run at the server's priority.
    }
  }
  const say = (line: string): void => send({ kind: 'line', level: 'say', line });
  const warn = (line: string): void => send({ kind: 'line', level: 'warn', line });
  const library = await openLibrary({ library: start.library, catalog: start.catalog }, { onWait: warn });
  const refresher = new IndexRefresher(library.catalog, {
    target: { url: start.catalog, libraryDir: library.paths.root },
    indexDir: library.paths.index,
    ...start.index,
    onError: warn,
  });
  const service = new WatchService(
    library.catalog,
    library.paths,
    new ModelLoader(library.paths, say, { device: start.watch.device }),
    start.watch,
    { say, warn },
    refresher,
  );
  try {
    await service.start();
  } catch (err) {
    await library.catalog.close();
    throw err;
  }
  refresher.start();
  send({ kind: 'started' });
  const report = (): void => send({ kind: 'state', watch: service.state(), index: refresher.state() });
  const timer = setInterval(report, 250);
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await refresher.stop();
      await service.stop();
      clearInterval(timer);
      report();
      await library.catalog.close();
    })());
  process.on('message', (m: { kind?: string }) => {
    if (m.kind === 'stop') void stop().finally(() => process.exit(0));
  });
  // The server is gone (killed, even by SIGKILL): finish the batch in flight and leave.
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop().finally(() => process.exit(0)));
  await service.done();
  if (!stopping) {
    // The watcher failed by itself: say why, and let the server decide.
    report();
    send({ kind: 'failed', message: service.state().error ?? 'the watcher stopped' });
    await stop();
    process.exit(1);
  }
}

process.once('message', (start: ChildStart) => {
  run(start).catch((err: unknown) => {
    send({ kind: 'failed', message: (err as Error).message ?? String(err) });
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  });
});
