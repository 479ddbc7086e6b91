// Execution providers with real sessions: the CPU gives the vectors it gave before
// providers could be chosen, an explicit GPU device that cannot start is one clear
// line, `auto` falls back to the CPU saying why in one line, and a provider whose
// add-on is not installed is an error naming the fix. Written for machines like
// this project's (Linux x64, no GPU adapter, the CUDA add-on skipped by .npmrc);
// where a GPU provider does start, the tests that need it to fail are skipped.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { models } from '../../scripts/paths.js';
import { cosine } from '../support.js';
import { ImageEncoder, TextEncoder } from '../../src/model/encoders.js';
import {
  autoOrder,
  availableProviders,
  defaultBatchSize,
  DeviceError,
  explainFailure,
  probeProvider,
  resolveDevice,
  sessionOptionsFor,
} from '../../src/model/execution-provider.js';
import { resolveModel, type ResolvedModel } from '../../src/model/model-files.js';
import { probeModel } from '../../src/model/provider-probe.js';

const tinyClip = (): Promise<ResolvedModel> => resolveModel({ id: models.tinyClip, dtype: 'fp32' }, { cacheDir: models.tinyClip });

/** Two deterministic "images" in the model's input range. */
function pixels(count: number, perImage: number): Float32Array {
  const data = new Float32Array(count * perImage);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (seed / 0x7fffffff) * 4 - 2;
  }
  return data;
}

/** The image vectors as picsift computed them before this module: the session options it hard-coded then. */
async function vectorsAsBefore(model: ResolvedModel, input: Float32Array, count: number, side: number): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(model.visionPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  try {
    const out = await session.run({ pixel_values: new ort.Tensor('float32', input, [count, 3, side, side]) });
    const data = out.image_embeds.data as Float32Array;
    const dims = data.length / count;
    return Array.from({ length: count }, (_, i) => data.slice(i * dims, (i + 1) * dims));
  } finally {
    await session.release();
  }
}

async function encodeWith(model: ResolvedModel, options: Parameters<typeof ImageEncoder.load>[1], count: number) {
  const encoder = await ImageEncoder.load(model, options);
  try {
    const input = pixels(count, encoder.pixelsPerImage);
    const flat = await encoder.encode(input, count);
    const vectors = Array.from({ length: count }, (_, i) => flat.slice(i * encoder.dims, (i + 1) * encoder.dims));
    return { encoder, input, vectors, side: encoder.preprocess.cropHeight };
  } finally {
    await encoder.close();
  }
}

/** Why the WebGPU tests cannot run here: the provider is missing (Linux arm64) or starts (a GPU adapter); null: it fails, as they need. */
async function webgpuCannotFail(): Promise<string | null> {
  if (!availableProviders().find((p) => p.name === 'webgpu')!.installed)
    return `onnxruntime-node has no WebGPU on ${process.platform}/${process.arch}`;
  return (await probeProvider('webgpu')).ok ? 'this machine has a WebGPU adapter' : null;
}

test('the CPU provider gives the vectors of before (in this thread and in an inference thread)', async () => {
  const model = await tinyClip();
  for (const sessions of [0, 1]) {
    const { encoder, input, vectors, side } = await encodeWith(model, { device: 'cpu', sessions }, 2);
    assert.equal(encoder.provider, 'cpu');
    const before = await vectorsAsBefore(model, input, 2, side);
    vectors.forEach((v, i) =>
      assert.ok(cosine(v, before[i]) >= 0.99999, `sessions ${sessions}, image ${i}: cosine ${cosine(v, before[i])}`),
    );
  }
  // The default (no device) is still the CPU.
  const text = await TextEncoder.load(model);
  assert.equal(text.provider, 'cpu');
  await text.close();
});

test('--device webgpu without a GPU adapter fails with one line naming the device, the reason and the fix', async (t) => {
  const skip = await webgpuCannotFail();
  if (skip) return t.skip(skip);
  const model = await tinyClip();
  await assert.rejects(ImageEncoder.load(model, { device: 'webgpu' }), (err: Error) => {
    assert.ok(err instanceof DeviceError, `a DeviceError, not ${err.name}`);
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /^--device webgpu: no GPU adapter was found/);
    assert.match(err.message, /use --device cpu/);
    return true;
  });
});

test('--device auto falls back to the CPU after one line saying what was tried and why it failed', async (t) => {
  const skip = await webgpuCannotFail();
  if (skip) return t.skip(skip);
  const model = await tinyClip();
  const lines: string[] = [];
  const auto = await encodeWith(model, { device: 'auto', onFallback: (line) => lines.push(line) }, 2);
  assert.equal(auto.encoder.provider, 'cpu');
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0], /\n/);
  assert.match(lines[0], /^--device auto: running on the CPU; tried webgpu: no GPU adapter was found/);
  const cpu = await encodeWith(model, { device: 'cpu' }, 2);
  auto.vectors.forEach((v, i) => assert.ok(cosine(v, cpu.vectors[i]) >= 0.99999));
});

test('the fallback is the only thing a process says on stderr (native GPU logs stay in the probe)', async (t) => {
  const skip = await webgpuCannotFail();
  if (skip) return t.skip(skip);
  const encoders = new URL('../../src/model/encoders.js', import.meta.url).href;
  const files = new URL('../../src/model/model-files.js', import.meta.url).href;
  const script = `
    const { ImageEncoder, TextEncoder } = await import(${JSON.stringify(encoders)});
    const { resolveModel } = await import(${JSON.stringify(files)});
    const model = await resolveModel({ id: ${JSON.stringify(models.tinyClip)}, dtype: 'fp32' }, { cacheDir: '/nonexistent' });
    const image = await ImageEncoder.load(model, { device: 'auto' });
    const text = await TextEncoder.load(model, { device: 'auto' });
    process.stdout.write(image.provider + ' ' + text.provider);
    await image.close();
    await text.close();`;
  // A file, not `node --input-type=module -e`: the inference thread's worker would inherit --input-type and refuse its own file.
  const dir = mkdtempSync(join(tmpdir(), 'picsift-ep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'auto.mjs'), script);
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(process.execPath, [join(dir, 'auto.mjs')], (err, out, errOut) =>
      err ? reject(err) : resolve({ stdout: out, stderr: errOut }),
    ),
  );
  assert.equal(stdout, 'cpu cpu');
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line (said once for both encoders), got:\n${stderr}`);
  assert.match(lines[0], /^picsift: --device auto: running on the CPU; tried webgpu: /);
});

test('a provider whose add-on is not installed is an error naming the fix', async (t) => {
  const cuda = availableProviders().find((p) => p.name === 'cuda')!;
  if (!cuda.built) return t.skip(`onnxruntime-node has no CUDA provider on ${process.platform}/${process.arch}`);
  if (cuda.installed) return t.skip('the CUDA add-on is installed here');
  const check = (err: Error): boolean => {
    assert.ok(err instanceof DeviceError);
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /^--device cuda: onnxruntime-node's CUDA add-on is not installed/);
    assert.match(err.message, /onnxruntime-node-install=cuda12 in \.npmrc/);
    assert.match(err.message, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(err.message, /npm ci/);
    assert.match(err.message, /CUDA 12 and cuDNN 9/);
    return true;
  };
  assert.throws(() => resolveDevice('cuda'), check);
  await assert.rejects(ImageEncoder.load(await tinyClip(), { device: 'cuda' }), check);
  // PICSIFT_DEVICE is named as such.
  assert.throws(() => resolveDevice('cuda', { from: 'PICSIFT_DEVICE' }), /^DeviceError: PICSIFT_DEVICE cuda: /);
  // auto does not try it, and says so only if it has to fall back.
  assert.ok(resolveDevice('auto').skipped.some((s) => s.startsWith('cuda: ')));
  assert.ok(!resolveDevice('auto').candidates.includes('cuda'));
});

test('device names: unknown names, other platforms’ providers, interactive auto', () => {
  assert.throws(() => resolveDevice('gpu'), /^DeviceError: --device must be one of auto, cpu, cuda, webgpu, dml, coreml, not "gpu"$/);
  assert.equal(resolveDevice(undefined).requested, 'auto');
  assert.equal(resolveDevice(' CPU ').requested, 'cpu');
  assert.deepEqual(resolveDevice('auto', { interactive: true }).candidates, ['cpu']);
  assert.deepEqual(resolveDevice('auto').candidates.at(-1), 'cpu');
  if (process.platform === 'linux') {
    assert.throws(
      () => resolveDevice('dml'),
      /^DeviceError: --device dml: onnxruntime-node for linux\/\w+ has no dml provider \(DirectML is a Windows provider\)/,
    );
    assert.throws(() => resolveDevice('coreml'), /has no coreml provider \(CoreML is a macOS provider\)/);
  }
  assert.deepEqual(autoOrder('linux'), ['cuda', 'webgpu', 'cpu']);
  assert.deepEqual(autoOrder('win32'), ['cuda', 'dml', 'webgpu', 'cpu']);
  assert.deepEqual(autoOrder('darwin'), ['coreml', 'webgpu', 'cpu']);
  assert.deepEqual(autoOrder('freebsd'), ['cpu']);
});

test('tuning per provider: CPU as before, GPUs batch 64–256 and leave the cores to the decoder', () => {
  assert.equal(defaultBatchSize('cpu'), 16);
  for (const gpu of ['cuda', 'webgpu', 'dml', 'coreml'] as const) {
    if (gpu !== 'coreml') assert.ok(defaultBatchSize(gpu) >= 64 && defaultBatchSize(gpu) <= 256, gpu);
    assert.equal(sessionOptionsFor(gpu).intraOpNumThreads, 1);
    assert.deepEqual(sessionOptionsFor(gpu).executionProviders, [gpu]);
  }
  const cpu = sessionOptionsFor('cpu');
  assert.equal(cpu.intraOpNumThreads, 0);
  assert.deepEqual(cpu.extra, { session: { intra_op: { allow_spinning: '0' } } });
  assert.equal(sessionOptionsFor('cpu', { threads: 3, spinning: true }).intraOpNumThreads, 3);
  assert.equal(sessionOptionsFor('dml').enableMemPattern, false);
});

test('the probe model runs, and failures are explained in one line', async () => {
  const session = await ort.InferenceSession.create(probeModel(), { executionProviders: ['cpu'] });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
  assert.deepEqual([...(out.y.data as Float32Array)], [1, 4, 9, 16]);
  await session.release();
  assert.deepEqual(await probeProvider('cpu'), { ok: true, reason: '' });
  // What onnxruntime says when the CUDA add-on is there but cuDNN is not (its log carries the cause).
  assert.equal(
    explainFailure(
      'cuda',
      'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library',
      '[E:onnxruntime:, provider_bridge_ort.cc:2146 Create] … Failed to load library /x/libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file: No such file or directory\n',
    ),
    'the CUDA provider could not be loaded (libonnxruntime_providers_cuda.so: libcudnn.so.9: cannot open shared object file: No such file or directory)',
  );
  assert.equal(
    explainFailure(
      'webgpu',
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n',
    ),
    'no GPU adapter was found (No supported adapters)',
  );
});
