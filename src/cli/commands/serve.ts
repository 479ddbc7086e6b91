// `picsift serve`: argument handling only; src/server/serve.ts does the work.
import type { Command } from 'commander';
import { startServer } from '../../server/serve.js';
import { contextOf, deviceOf } from '../context.js';
import { watchConfig, type WatchCliOptions } from './watch.js';

export async function serve(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ host: string; port: number; token?: string; watch?: true | string[] } & WatchCliOptions>(cmd);
  const { options, report } = context;
  const logLevel = report.verbosity === 'quiet' ? 'warn' : report.verbosity === 'verbose' ? 'debug' : 'info';
  // PICSIFT_WATCH_NICE: the watcher's CPU priority (nice value; default 10), for measuring what it buys.
  const nice = process.env.PICSIFT_WATCH_NICE ? Number(process.env.PICSIFT_WATCH_NICE) : undefined;
  const watch = options.watch ? { ...watchConfig(options.watch === true ? [] : options.watch, options), nice } : undefined;
  const server = await startServer(
    { ...options, device: deviceOf(context), watch, logLevel },
    { say: (line) => report.say(`picsift: ${line}`), warn: (line) => report.warn(`picsift: ${line}`) },
  );
  let stopping = false;
  const stop = (signal: string): void => {
    // A second signal leaves at once: every committed batch is safe either way.
    if (stopping) process.exit(130);
    stopping = true;
    report.say(`picsift: ${signal}, stopping`);
    server.close().then(
      () => process.exit(0),
      (err: Error) => {
        report.warn(`picsift: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
