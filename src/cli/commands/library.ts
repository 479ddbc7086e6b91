// status, errors, forget, verify and repair: looking after a library.
import type { Command } from 'commander';
import { forgetFolders } from '../../app/forget.js';
import { libraryStatus } from '../../app/status.js';
import { repairLibrary, verifyLibrary } from '../../app/verify.js';
import { recoverLibrary } from '../../app/recover.js';
import { probeDevice } from '../../model/execution-provider.js';
import { contextOf, deviceOf, withLibrary } from '../context.js';
import { count, statusJson, statusText } from '../output.js';
import { safeText } from '../reporter.js';

export async function status(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ json?: boolean }>(cmd);
  await withLibrary(context, { readOnly: true }, async ({ catalog, paths }) => {
    const report = await libraryStatus(catalog, paths);
    const shared = context.options.catalog !== undefined ? catalog.location : null;
    // With --device (or PICSIFT_DEVICE): where models would run here, tried as embed would try it.
    const device = context.options.device === undefined ? undefined : await probeDevice(deviceOf(context), { onFallback: () => {} });
    const shown = device && { provider: device.provider, fallback: device.fallback };
    process.stdout.write(`${context.options.json ? statusJson(report, shown) : statusText(report, shared, shown)}\n`);
  });
}

export async function errors(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ json?: boolean }>(cmd);
  await withLibrary(context, { readOnly: true }, async ({ catalog }) => {
    const { failed, skipped } = await catalog.images.failures();
    if (context.options.json) {
      process.stdout.write(`${JSON.stringify({ failed, skipped })}\n`);
      return;
    }
    for (const f of [...failed, ...skipped]) process.stdout.write(`${safeText(f.path)}\t${safeText(f.reason)}\n`);
    context.report.say(
      `${count(failed.length, 'image')} failed${failed.length ? ' (`picsift embed --retry-failed` tries them again)' : ''}, ` +
        `${count(skipped.length, 'file')} skipped as not images`,
    );
  });
}

export async function forget(dirs: string[], _options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<object>(cmd);
  await withLibrary(context, { lock: { purpose: 'forget', catalog: 'alone', folder: true } }, async (library) => {
    const forgotten = await forgetFolders(library, dirs);
    context.report.say(`forgot ${count(forgotten.length, 'image')} under ${dirs.join(', ')}`);
  });
}

export async function verify(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ json?: boolean; full?: boolean }>(cmd);
  await withLibrary(context, { readOnly: true }, async ({ catalog, paths }) => {
    const report = await verifyLibrary(catalog, paths, { full: context.options.full });
    if (context.options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const line of report.storage) process.stdout.write(`storage\t${safeText(line)}\n`);
      const spaceOf = new Map(report.spaces.map((s) => [s.id, s]));
      for (const p of report.catalog) {
        const space = p.space === undefined ? undefined : spaceOf.get(p.space);
        const model = space && space.state !== 'active' ? ` (${space.state} model ${safeText(space.model)})` : '';
        process.stdout.write(`${p.kind}\timage ${p.imageId}\t${safeText(p.path ?? '')}\t${p.detail}${model}\n`);
      }
      for (const p of report.index) process.stdout.write(`${p.kind}\t${safeText(p.detail)}\n`);
      const problems = report.storage.length + report.catalog.length + report.index.length;
      context.report.say(
        report.ok
          ? `library is consistent: ${count(report.images, 'image')}, ${count(report.vectors, 'vector')}` +
              report.spaces
                .filter((s) => s.state !== 'active')
                .map((s) => `; checked the vectors of ${safeText(s.model)} (${s.state === 'building' ? 'being re-embedded' : s.state}) too`)
                .join('')
          : report.storage.length > 0
            ? `the catalogue ${catalog.location} is damaged; \`picsift recover\` copies what can still be read into a new catalogue`
            : `${count(problems, 'problem')}; \`picsift repair\` fixes ${problems === 1 ? 'it' : 'them'}`,
      );
    }
    if (!report.ok) process.exitCode = 1;
  });
}

export async function recover(_options: unknown, cmd: Command): Promise<void> {
  const { options, report } = contextOf<object>(cmd);
  const result = await recoverLibrary(options);
  report.say(
    `recovered ${count(result.images, 'image')} (${result.unreadableImages} unreadable, registered again by the next scan), ` +
      `${count(result.vectors, 'vector')} kept, ${count(result.requeued, 'image')} back in the embed queue; ` +
      `the damaged file is kept as ${result.damaged}; index rebuilt` +
      (result.unreadableImages + result.requeued > 0 ? '. Run picsift index on your folders to register and embed what was lost' : ''),
  );
}

export async function repair(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<object>(cmd);
  await withLibrary(context, { lock: { purpose: 'repair', catalog: 'alone', folder: true } }, async ({ catalog, paths }) => {
    const report = await verifyLibrary(catalog, paths);
    if (report.ok) {
      context.report.say('nothing to repair');
      return;
    }
    const fixed = await repairLibrary(catalog, paths, report);
    context.report.say(
      `repaired: ${count(fixed.requeued, 'image')} ${fixed.requeued === 1 ? 'goes' : 'go'} back to the embed queue (run picsift embed)${fixed.indexRebuilt ? '; index rebuilt' : ''}`,
    );
  });
}
