// `picsift serve`'s and `picsift watch`'s options; each command's module is loaded only when it runs.
import { Option, type Command } from 'commander';
import { DEFAULT_RESCAN_MS, DEFAULT_SETTLE_MS } from '../app/watch-defaults.js';
import { DEFAULT_BATCH_SIZE } from '../pipeline/defaults.js';
import { portNumber, positiveInt, positiveNumber } from './options.js';

/** What serve --watch and watch share: how often to rescan, how long files must be still, how many threads to use. */
export function watchOptions(cmd: Command): Command {
  return cmd
    .option(
      '--rescan <minutes>',
      'full rescan of the watched folders this often, for what events miss (network file systems, changes while stopped)',
      positiveNumber('--rescan'),
      DEFAULT_RESCAN_MS / 60_000,
    )
    .option(
      '--settle <seconds>',
      'a new or changed file is taken once its size and mtime have not changed for this long',
      positiveNumber('--settle'),
      DEFAULT_SETTLE_MS / 1000,
    )
    .option(
      '--embed-threads <n>',
      'threads for the background embedding (model and decoding; default: all cores but one on machines with more than two)',
      positiveInt('--embed-threads', 256),
    )
    .option(
      '--batch-size <n>',
      `images per model call (default: the device's, ${DEFAULT_BATCH_SIZE} on the CPU, more on a GPU)`,
      positiveInt('--batch-size', 1024),
    );
}

export function registerServeCommand(program: Command): void {
  watchOptions(
    program
      .command('serve')
      .description('web gallery and JSON API (OpenAPI at /api/openapi.json); keeps the model loaded')
      .option('--host <address>', 'address to listen on; anything but loopback needs --token', '127.0.0.1')
      .option('--port <n>', 'port to listen on (0: any free port)', portNumber, 7878)
      .addOption(
        // From the environment too: a token on the command line shows in `ps` to every user of the machine.
        new Option('--token <secret>', 'required on every request (Bearer header, ?token=, or the cookie the page sets)').env(
          'PICSIFT_TOKEN',
        ),
      )
      .option(
        '--watch [dir...]',
        "keep the library current: register, embed and index new, changed and deleted photos in these folders (default: the library's scanned folders) in the background",
      ),
  ).action(async (options: unknown, cmd: Command) => (await import('./commands/serve.js')).serve(options, cmd));

  watchOptions(
    program
      .command('watch')
      .description("keep the library current without a gallery: follow the folders (default: the library's scanned ones) until stopped")
      .argument('[dir...]', 'folders to watch (and register now)'),
  ).action(async (dirs: string[], options: unknown, cmd: Command) => (await import('./commands/watch.js')).watch(dirs, options, cmd));
}
