// `picsift serve`: argument parsing only; src/server/serve.ts does the work.
import { Command, InvalidArgumentError, Option } from 'commander';
import { startServer } from '../server/serve.js';

interface ServeCommandOptions {
  library: string;
  model?: string;
  dtype?: string;
  host: string;
  port: number;
  token?: string;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`--port must be a number from 0 to 65535, not "${value}"`);
  return n;
}

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

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
    .action(async (_opts, cmd: Command) => {
      const options = cmd.optsWithGlobals<ServeCommandOptions>();
      const server = await startServer(options, (line) => say(`picsift: ${line}`));
      const stop = (signal: string): void => {
        say(`picsift: ${signal}, stopping`);
        server.close().then(
          () => process.exit(0),
          (err: Error) => {
            say(`picsift: ${err.message}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
