// `picsift serve`'s options; the command's module is loaded only when it runs.
import { Option, type Command } from 'commander';
import { portNumber } from './options.js';

export function registerServeCommand(program: Command): void {
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
    .action(async (options: unknown, cmd: Command) => (await import('./commands/serve.js')).serve(options, cmd));
}
