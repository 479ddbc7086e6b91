// What every command does around its work: read the global options, open the
// library (its catalogue and this machine's folder), take the locks the command
// needs, and close everything on the way out, whatever happens.
import type { Command } from 'commander';
import { lockLibrary, openLibrary, type Library } from '../app/library.js';
import { ModelLoader } from '../app/model-loader.js';
import type { LockMode } from '../catalog/ports.js';
import { resolveDevice, type DeviceChoice } from '../model/execution-provider.js';
import { createReporter, type Reporter } from './reporter.js';

export interface GlobalOptions {
  library: string;
  catalog?: string;
  model?: string;
  dtype?: string;
  verbose?: boolean;
  quiet?: boolean;
  device?: string;
}

export interface Context<O> {
  options: O & GlobalOptions;
  report: Reporter;
  /** Where --device came from, for messages: the flag or the environment. */
  deviceFrom: string;
}

/** The command's own options merged with the global ones, and a reporter at the asked verbosity. */
export function contextOf<O>(cmd: Command): Context<O> {
  const options = cmd.optsWithGlobals<O & GlobalOptions>();
  const deviceFrom = rootOf(cmd).getOptionValueSource('device') === 'env' ? 'PICSIFT_DEVICE' : '--device';
  return { options, report: createReporter(options.quiet ? 'quiet' : options.verbose ? 'verbose' : 'normal'), deviceFrom };
}

function rootOf(cmd: Command): Command {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root;
}

/**
 * Where this machine runs the models: --device (or PICSIFT_DEVICE), default auto.
 * A one-shot query (`interactive`) runs auto on the CPU: starting a GPU costs more
 * than the query. An explicit device that cannot work fails here, before any work.
 */
export function deviceOf(context: Context<unknown>, interactive = false): DeviceChoice {
  return resolveDevice(context.options.device, { from: context.deviceFrom, interactive });
}

export interface LibraryUse {
  /** Commands that only read refuse a library that does not exist (a typo must not create one). */
  readOnly?: boolean;
  /** Locks to hold while the work runs (see lockLibrary). */
  lock?: { purpose: string; catalog?: LockMode; folder?: boolean };
  /** A one-shot query: `--device auto` means the CPU (see deviceOf). */
  interactive?: boolean;
}

export async function withLibrary<T>(
  context: Context<unknown>,
  use: LibraryUse,
  work: (library: Library, loader: ModelLoader) => Promise<T>,
): Promise<T> {
  const { options, report } = context;
  const device = deviceOf(context, use.interactive);
  if (use.interactive) ModelLoader.prestart();
  const library = await openLibrary(
    { library: options.library, catalog: options.catalog },
    { mustExist: use.readOnly, onWait: (line) => report.warn(line) },
  );
  try {
    const held = use.lock ? await lockLibrary(library, use.lock.purpose, use.lock) : null;
    try {
      return await work(library, new ModelLoader(library.paths, (line) => report.say(line), { device, oneShot: use.interactive }));
    } finally {
      await held?.release();
    }
  } finally {
    await library.catalog.close();
  }
}
