// import-legacy, export and migrate: moving a library in and out.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { migrateTo } from '../../app/migrate.js';
import { chooseModel } from '../../app/model-choice.js';
import { checkExportTarget, exportLegacy as writeExport } from '../../legacy/export-legacy.js';
import { importLegacy as adopt } from '../../legacy/import-legacy.js';
import { contextOf, withLibrary } from '../context.js';
import { count } from '../output.js';
import { startProgress } from '../progress.js';

export async function importLegacy(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ db: string; embeddings: string }>(cmd);
  const { options, report } = context;
  await withLibrary(context, { lock: { purpose: 'import-legacy', catalog: 'scan' } }, async ({ catalog }, loader) => {
    const spec = await chooseModel(catalog.models, catalog.location, options);
    // The vectors' width is checked against the model before anything is written.
    const encoder = await loader.imageEncoder(spec);
    const dims = encoder.dims;
    await encoder.close();
    const model = { id: spec.id, dtype: spec.dtype, dims };
    const result = await adopt(catalog, options.db, options.embeddings, model);
    report.say(
      `imported ${result.rows} rows: ${result.embedded} with their vector kept, ${result.pending} pending ` +
        `(${result.invalid} without a valid vector among the ${result.vectors} in the .npy)` +
        `${result.skipped ? `, ${result.skipped} already in the library` : ''}; \`picsift embed\` computes the missing ones`,
    );
    report.say(`the library's model is ${model.id} (${model.dtype}, ${model.dims}-d)`);
  });
}

export async function exportLegacy(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ out: string; force?: boolean }>(cmd);
  const out = resolve(context.options.out);
  checkExportTarget(out, Boolean(context.options.force));
  await withLibrary(context, { readOnly: true }, async ({ catalog }) => {
    const model = await catalog.models.model();
    if (!model) throw new Error('nothing to export: the library has no embedded images');
    const result = await writeExport(catalog.maintenance, out, model.dims);
    context.report.say(
      `exported ${count(result.images, 'image')} and ${count(result.vectors, 'vector')} to ${out} (embeddings.npy, metadata.db)`,
    );
  });
}

export async function migrate(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ to: string }>(cmd);
  const { options, report } = context;
  await withLibrary(context, { readOnly: true, lock: { purpose: 'migrate', catalog: 'alone' } }, async ({ catalog }) => {
    const progress = startProgress('copying', 'images', (await catalog.images.counts()).images, report.verbosity === 'quiet');
    const result = await migrateTo(catalog, options.to, { onWait: report.warn, onProgress: (n) => progress.update(n) }).finally(() =>
      progress.stop(),
    );
    report.say(
      `copied ${count(result.copied, 'image')} to ${result.location}` +
        `${result.resumedAfter ? ` (resumed after image ${result.resumedAfter})` : ''}: ` +
        `${result.counts.embedded} embedded, ${result.counts.pending} pending, ${result.counts.failed} failed; ` +
        `use it with ${result.use} (each machine rebuilds its index with picsift build-index)`,
    );
  });
}
