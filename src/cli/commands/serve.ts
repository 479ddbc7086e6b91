// `picsift serve`: argument handling only; src/server/serve.ts does the work.
import type { Command } from 'commander';
import { startServer } from '../../server/serve.js';
import { contextOf } from '../context.js';

export async function serve(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ host: string; port: number; token?: string }>(cmd);
  const { options, report } = context;
  const logLevel = report.verbosity === 'quiet' ? 'warn' : report.verbosity === 'verbose' ? 'debug' : 'info';
  const server = await startServer(
    { ...options, logLevel },
    { say: (line) => report.say(`picsift: ${line}`), warn: (line) => report.warn(`picsift: ${line}`) },
  );
  const stop = (signal: string): void => {
    report.say(`picsift: ${signal}, stopping`);
    server.close().then(
      () => process.exit(0),
      (err: Error) => {
        report.warn(`picsift: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
