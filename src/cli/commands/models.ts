// reembed, use-model and drop-model: changing a library's model without losing search.
import { catchInterrupt } from '../interrupt.js';
import type { Command } from 'commander';
import { dropCommand, dropModel, findSpace, reembedLibrary, switchModel, useCommand, type ReembedOutcome } from '../../app/model-change.js';
import type { Library } from '../../app/library.js';
import { describeModel } from '../../catalog/types.js';
import { contextOf, withLibrary, type Context } from '../context.js';
import { count } from '../output.js';
import { embedRunRequest, type EmbedRunOptions } from '../options.js';
import { startProgress, type Progress } from '../progress.js';

interface ReembedOptions extends EmbedRunOptions {
  switch?: boolean;
}

export async function reembed(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<ReembedOptions>(cmd);
  const { options, report } = context;
  if (options.model === undefined) {
    throw new Error('reembed needs the new model: picsift reembed --model ID_OR_DIR [--dtype fp32|q8] [--switch]');
  }
  const model = options.model;
  // One re-embedding at a time (PostgreSQL: embed workers may run beside it).
  const complete = await withLibrary(context, { lock: { purpose: 'reembed', catalog: 'reembed' } }, async (library, loader) => {
    let progress: Progress | null = null;
    // Ctrl-C: stop claiming, commit the batches in flight, say what was kept (as embed does).
    const interrupt = catchInterrupt(report);
    let outcome: ReembedOutcome;
    try {
      outcome = await reembedLibrary(
        library.catalog,
        loader,
        {
          model,
          dtype: options.dtype,
          ...embedRunRequest(options),
          shouldStop: () => interrupt.requested,
        },
        {
          onStart: (space, missing) => {
            report.say(
              `re-embedding with ${describeModel(space.model)}: ${count(missing, 'image')} to go; ` +
                'search keeps using the current model until the switch',
            );
            progress = startProgress('re-embedding', 'images', missing, report.verbosity === 'quiet');
          },
          onProgress: (done) => progress?.update(done),
          onFailure: (path, reason) => report.warn(`failed ${path}: ${reason}`),
        },
      );
    } finally {
      (progress as Progress | null)?.stop();
      interrupt.release();
    }
    const { space, progress: state } = outcome;
    const failed = state.failed ? `, ${count(state.failed, 'image')} could not be embedded with it (see below)` : '';
    if (interrupt.requested) {
      report.warn(
        `interrupted: ${state.done.toLocaleString('en-US')} of ${state.embedded.toLocaleString('en-US')} images have a vector from ` +
          `${space.model.id}; run the same command to continue`,
      );
      process.exit(130);
    }
    if (state.missing > 0) {
      // Images registered or changed meanwhile (on PostgreSQL, embedded by other workers) are left.
      report.say(`${count(state.missing, 'image')} still lack a vector from ${space.model.id}; run the same command again`);
      return null;
    }
    report.say(`every embedded image has a vector from ${describeModel(space.model)}${failed}`);
    if (state.failed) report.say(`those become failed images at the switch; \`picsift errors\` lists them afterwards`);
    if (!options.switch) report.say(`switch with \`${useCommand(space)}\` (or run reembed again with --switch)`);
    return space;
  });
  if (!complete || !options.switch) return;
  // The switch needs the catalogue to itself (an embed worker must not go on with the old
  // model), and this machine's folder for the index: the reembed's lock is given back first.
  await withLibrary(context, { lock: { purpose: 'use-model', catalog: 'alone', folder: true } }, async (library) => {
    await switchTo(context, library, await findSpace(library.catalog, complete.model.id, complete.model.dtype));
  });
}

export async function useModel(model: string, _options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<object>(cmd);
  // Nothing else may write while the library changes model (an embed worker would still use the old one).
  await withLibrary(context, { lock: { purpose: 'use-model', catalog: 'alone', folder: true } }, async (library) => {
    await switchTo(context, library, await findSpace(library.catalog, model, context.options.dtype));
  });
}

export async function dropModelCommand(model: string, _options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<object>(cmd);
  await withLibrary(context, { lock: { purpose: 'drop-model', catalog: 'alone' } }, async (library) => {
    const space = await findSpace(library.catalog, model, context.options.dtype);
    const dropped = await dropModel(library.catalog, space);
    context.report.say(`dropped ${count(dropped, 'vector')} of ${describeModel(space.model)}`);
  });
}

async function switchTo(context: Context<unknown>, library: Library, space: Awaited<ReturnType<typeof findSpace>>): Promise<void> {
  const { from, to, indexed } = await switchModel(library, space);
  context.report.say(
    `the library now searches with ${describeModel(to.model)}` +
      (indexed === null ? '' : `; index rebuilt from its vectors (${count(indexed, 'vector')})`) +
      (from ? `. The vectors of ${from.model.id} are kept until \`${dropCommand({ ...from, state: 'retired' })}\`` : ''),
  );
  if (library.catalog.backend === 'postgres') {
    context.report.say('other machines searching this catalogue: run `picsift build-index` there (they search exactly meanwhile)');
  }
}
