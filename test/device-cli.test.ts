// --device through the real command line: auto embeds on the CPU after one line
// saying what it tried; an explicit device that cannot work here stops with one
// line (the device, the reason, the fix); status --device says where models run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { availableProviders, probeProvider } from '../src/model/execution-provider.js';
import { COLOURS, models, runCli, tempDir, writeSolidJpeg } from './support.js';

/** Whether a GPU provider really works on this machine (then the fallback cases do not apply). */
const gpuWorks = async (): Promise<boolean> => {
  for (const p of availableProviders()) if (p.name !== 'cpu' && p.installed && (await probeProvider(p.name)).ok) return true;
  return false;
};

test('--device auto, webgpu, cpu and status through the CLI', async (t) => {
  if (await gpuWorks()) {
    t.skip('a GPU provider works here: the CPU fallback cannot be shown');
    return;
  }
  const dir = tempDir(t);
  await writeSolidJpeg(join(dir, 'red.jpg'), COLOURS.red);
  const lib = (name: string) => ['--library', join(dir, name), '--model', models.colorClip];

  const auto = await runCli([...lib('a'), '--device', 'auto', 'index', join(dir, 'red.jpg')]);
  assert.equal(auto.code, 0, auto.stderr);
  const fallbacks = auto.stderr.split('\n').filter((l) => l.startsWith('--device auto: running on the CPU; tried '));
  assert.equal(fallbacks.length, 1, auto.stderr);
  assert.match(auto.stderr, /embedded 1 image in .* on the CPU\)/);

  const webgpu = await runCli([...lib('w'), '--device', 'webgpu', 'index', join(dir, 'red.jpg')]);
  assert.equal(webgpu.code, 1);
  const lines = webgpu.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => l.startsWith('picsift:'));
  assert.equal(lines.length, 1, webgpu.stderr);
  assert.match(lines[0], /^picsift: --device webgpu: .*; .*use --device cpu \(or auto\)/);

  const cpu = await runCli([...lib('c'), '--device', 'cpu', 'index', join(dir, 'red.jpg')]);
  assert.equal(cpu.code, 0, cpu.stderr);
  assert.doesNotMatch(cpu.stderr, /running on the CPU; tried/);
  const status = JSON.parse((await runCli([...lib('c'), '--device', 'cpu', 'status', '--json'])).stdout);
  assert.equal(status.device, 'cpu');
  const envStatus = await runCli([...lib('c'), 'status'], { PICSIFT_DEVICE: 'gpu' });
  assert.equal(envStatus.stderr, 'picsift: PICSIFT_DEVICE must be one of auto, cpu, cuda, webgpu, dml, coreml, not "gpu"\n');
});
