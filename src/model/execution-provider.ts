// Which onnxruntime execution provider runs the models, and how each one is tuned.
// Everything that depends on the device lives here: the device names users type,
// which providers this installation of onnxruntime-node has, the order `auto`
// tries them in, trying one (in a child process, see probeProvider), the one
// line said when `auto` falls back, the errors an explicit device gets, and the
// session options and default batch size of each provider.
//
// onnxruntime-node 1.30's npm package bundles CPU and WebGPU (Dawn) for Linux
// x64, Windows and macOS, DirectML for Windows and CoreML for macOS; CUDA (and
// TensorRT) for Linux x64 is an add-on that its install script downloads unless
// told to skip (this repository's .npmrc skips it). `listSupportedBackends()`
// names every provider the binary was built with and whether its library ships
// in the package ("bundled"): on Linux x64 it says cpu, webgpu, cuda (bundled:
// false), tensorrt (bundled: false), whether the add-on is installed or not, so
// an add-on is "installed" only when its libraries are in the package's bin folder.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';

export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
/** What a user may ask for: `--device`, `PICSIFT_DEVICE`. */
export type Device = (typeof DEVICES)[number];
/** An onnxruntime execution provider that picsift can run a session on. */
export type Provider = Exclude<Device, 'auto'>;

/** A device that cannot be used: one line naming the device, the reason and the fix. */
export class DeviceError extends Error {
  constructor(
    readonly device: Device,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}

// ---------------------------------------------------------------------------
// Tuning per provider

interface ProviderTuning {
  /** Images per model call: the CLI's --batch-size default for this provider. */
  batchSize: number;
  /** Intra-op threads (0: onnxruntime's default, one per physical core). */
  intraOpThreads: number;
  /** Let idle intra-op threads busy-wait for the next parallel section. */
  spinning: boolean;
  /** onnxruntime's CPU memory arena (host buffers: inputs, outputs, CPU-side nodes). */
  cpuMemArena: boolean;
  /** Pre-planned memory pattern (DirectML cannot use it). */
  memPattern: boolean;
}

/**
 * CPU: as before this module existed. 16 images per call and one intra-op thread
 * per physical core; spinning off because a spinning thread burns the core the
 * image decoder needs (bench:embed, CLIP ViT-B/32 on 2 cores: CPU per embedded
 * photo 31.5 ms without spinning vs 43.4 ms with it in q8, 57.5 vs 69.6 ms in
 * fp32; the model alone gains at most 3–5% from spinning on an idle machine).
 *
 * GPUs: a GPU only fills up with large batches (clip-retrieval runs ViT-B/32 at
 * 256 per call on one RTX 3080 for ~1,500 images/s); 128 for CUDA keeps a batch's
 * input at 77 MB (128 × 3 × 224 × 224 floats) with three batches prepared ahead.
 * WebGPU and DirectML get 64: ViT-B/32's MLP activations at 64 images are 39 MB
 * (64 × 50 tokens × 3072 × 4 bytes), under the 128 MiB that WebGPU guarantees for
 * one storage buffer binding; 256 would need 157 MB. CoreML compiles a model per
 * input shape, so a smaller fixed batch. None of these GPU numbers is measured
 * yet (no GPU here): scripts/gpu-check.sh reports photos/s per provider, and
 * --batch-size overrides them. One intra-op thread: with a GPU only shape
 * computations run on onnxruntime's CPU threads, and every core is wanted for
 * decoding (about 20 cores feed 1,500 photos/s at ~13 ms per 4-MP JPEG).
 */
const TUNING: Record<Provider, ProviderTuning> = {
  cpu: { batchSize: 16, intraOpThreads: 0, spinning: false, cpuMemArena: true, memPattern: true },
  cuda: { batchSize: 128, intraOpThreads: 1, spinning: false, cpuMemArena: true, memPattern: true },
  webgpu: { batchSize: 64, intraOpThreads: 1, spinning: false, cpuMemArena: true, memPattern: true },
  // The DirectML provider requires memory patterns off and sequential execution (onnxruntime's DirectML docs).
  dml: { batchSize: 64, intraOpThreads: 1, spinning: false, cpuMemArena: true, memPattern: false },
  coreml: { batchSize: 32, intraOpThreads: 1, spinning: false, cpuMemArena: true, memPattern: true },
};

/** The --batch-size default for a provider. */
export function defaultBatchSize(provider: Provider): number {
  return TUNING[provider].batchSize;
}

export interface TuningOverrides {
  /** Intra-op threads; 0 lets onnxruntime use one per physical core. Default: the provider's. */
  threads?: number;
  /** Spinning intra-op threads. Default: the provider's (off everywhere). */
  spinning?: boolean;
  /**
   * The session runs once or twice and the process exits (search-text on the
   * command line): onnxruntime's weight prepacking is skipped. It makes every run
   * faster and costs time once, when the session opens: CLIP ViT-B/32's text
   * tower opened in 692 ms and ran in 16 ms (then 9), or opened in 301 ms and ran
   * in 24 ms (then 22) without it, on this 2-core machine.
   */
  oneShot?: boolean;
}

/** onnxruntime's session options for one provider: whole-graph optimisation, one request at a time. */
export function sessionOptionsFor(provider: Provider, overrides: TuningOverrides = {}): InferenceSession.SessionOptions {
  const tuning = TUNING[provider];
  return {
    executionProviders: [provider],
    // 'all' (layout transforms included) measured fastest for CLIP ViT-B/32 fp32 and q8 on the CPU;
    // onnxruntime applies each optimisation only to nodes of the providers it suits.
    graphOptimizationLevel: 'all',
    intraOpNumThreads: overrides.threads ?? tuning.intraOpThreads,
    // One request at a time per session: the pipeline batches instead.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: tuning.cpuMemArena,
    enableMemPattern: tuning.memPattern,
    // Flattened by the Node binding into "session.intra_op.allow_spinning" and "session.disable_prepacking".
    extra: {
      session: {
        intra_op: { allow_spinning: (overrides.spinning ?? tuning.spinning) ? '1' : '0' },
        ...(overrides.oneShot ? { disable_prepacking: '1' } : {}),
      },
    },
  };
}

// ---------------------------------------------------------------------------
// What this installation has

/** GPU providers `auto` tries, best first, before the CPU. CUDA is listed on Windows for builds that have it. */
const AUTO_ORDER: Partial<Record<NodeJS.Platform, Provider[]>> = {
  linux: ['cuda', 'webgpu'],
  win32: ['cuda', 'dml', 'webgpu'],
  darwin: ['coreml', 'webgpu'],
};

/** The providers `auto` tries on a platform, in order, ending with the CPU. */
export function autoOrder(platform: NodeJS.Platform = process.platform): Provider[] {
  return [...(AUTO_ORDER[platform] ?? []), 'cpu'];
}

/** The libraries of the providers that are installed separately from the npm package. */
const ADD_ON_FILES: Partial<Record<Provider, Partial<Record<NodeJS.Platform, string[]>>>> = {
  cuda: {
    linux: ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'],
    win32: ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll'],
  },
};

const require = createRequire(import.meta.url);

/** onnxruntime-node's folder of native libraries for this platform (bin/napi-v6/PLATFORM/ARCH). */
export function ortBinaryDir(): string {
  return join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

export interface ProviderAvailability {
  name: Provider;
  /** The binary was built with it (listSupportedBackends). */
  built: boolean;
  /** Its library is present: bundled in the package, or its add-on installed. */
  installed: boolean;
}

/** Every device picsift knows, and whether this installation can try it. Loads onnxruntime's binding. */
export function availableProviders(): ProviderAvailability[] {
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const backends = ort.listSupportedBackends();
  return DEVICES.filter((d): d is Provider => d !== 'auto').map((name) => {
    const backend = backends.find((b) => b.name === name);
    if (!backend) return { name, built: false, installed: false };
    const files = ADD_ON_FILES[name]?.[process.platform] ?? [];
    const installed = backend.bundled || (files.length > 0 && files.every((f) => existsSync(join(ortBinaryDir(), f))));
    return { name, built: true, installed };
  });
}

// ---------------------------------------------------------------------------
// The user's choice

export interface DeviceChoice {
  /** What was asked for. */
  requested: Device;
  /** Where it came from, for messages: "--device" or "PICSIFT_DEVICE". */
  from: string;
  /** Providers to try, in order; an explicit device has exactly one, `auto` ends with 'cpu'. */
  candidates: Provider[];
  /** `auto`: providers of the platform's order that are not installed, with why (mentioned if the fallback line is said). */
  skipped: string[];
}

export interface ResolveDeviceOptions {
  /** Where the request came from, for messages (default "--device"). */
  from?: string;
  /**
   * A command that encodes a query or two and exits (search-text, search-image):
   * `auto` means the CPU, because starting a GPU provider (creating the device,
   * compiling its kernels: seconds) costs far more than one text or image on the
   * CPU (milliseconds). An explicit device is still honoured.
   */
  interactive?: boolean;
}

/** Parses a device name; undefined or empty means 'auto'. Throws a one-line DeviceError for anything else. */
export function parseDevice(value: string | undefined, from = '--device'): Device {
  const name = (value ?? '').trim().toLowerCase() || 'auto';
  if (!(DEVICES as readonly string[]).includes(name)) {
    throw new DeviceError('auto', `${from} must be one of ${DEVICES.join(', ')}, not "${value}"`);
  }
  return name as Device;
}

/**
 * Validates a device request against this installation, without starting any
 * provider: unknown names and providers this installation lacks are one-line
 * DeviceErrors naming the fix. Whether a present GPU provider actually works is
 * found out when a session opens (openOnDevice) or by probeDevice.
 */
export function resolveDevice(request: string | undefined, options: ResolveDeviceOptions = {}): DeviceChoice {
  const from = options.from ?? '--device';
  const requested = parseDevice(request, from);
  if (requested === 'cpu' || (requested === 'auto' && options.interactive)) {
    return { requested, from, candidates: ['cpu'], skipped: [] };
  }
  const available = availableProviders();
  const info = (p: Provider): ProviderAvailability => available.find((a) => a.name === p)!;
  if (requested !== 'auto') {
    const { built, installed } = info(requested);
    if (!built) throw notBuilt(requested, from, available);
    if (!installed) throw notInstalled(requested, from);
    return { requested, from, candidates: [requested], skipped: [] };
  }
  const candidates: Provider[] = [];
  const skipped: string[] = [];
  for (const p of autoOrder()) {
    const { built, installed } = info(p);
    if (installed) candidates.push(p);
    else if (built) skipped.push(`${p}: its add-on is not installed`);
  }
  return { requested, from, candidates, skipped };
}

const PLATFORM_NOTE: Partial<Record<Provider, string>> = {
  cuda: 'onnxruntime-node has CUDA for Linux x64 only',
  dml: 'DirectML is a Windows provider',
  coreml: 'CoreML is a macOS provider',
  webgpu: 'onnxruntime-node has no WebGPU for this platform',
};

function notBuilt(device: Provider, from: string, available: ProviderAvailability[]): DeviceError {
  const usable = available.filter((a) => a.installed).map((a) => a.name);
  return new DeviceError(
    device,
    `${from} ${device}: onnxruntime-node for ${process.platform}/${process.arch} has no ${device} provider (${PLATFORM_NOTE[device]}); this installation offers ${usable.join(', ')}`,
  );
}

/** How to get the CUDA add-on (also in README.md). */
export const CUDA_INSTALL_FIX =
  'install it with onnxruntime-node-install=cuda12 in .npmrc (instead of "skip") or ONNXRUNTIME_NODE_INSTALL=cuda12 in the environment, then run npm ci (it downloads the add-on from NuGet); it needs an NVIDIA driver, CUDA 12 and cuDNN 9';

function notInstalled(device: Provider, from: string): DeviceError {
  const dir = relative(process.cwd(), ortBinaryDir()) || ortBinaryDir();
  const files = ADD_ON_FILES[device]?.[process.platform] ?? [];
  const remedy = device === 'cuda' ? CUDA_INSTALL_FIX : 'reinstall onnxruntime-node';
  return new DeviceError(
    device,
    `${from} ${device}: onnxruntime-node's ${device.toUpperCase()} add-on is not installed (no ${files[0]} in ${dir}); ${remedy}`,
  );
}

// ---------------------------------------------------------------------------
// Trying a provider

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, in one line (empty when ok). */
  reason: string;
}

const PROBE_TIMEOUT_MS = 60_000;
const probes = new Map<Provider, Promise<ProbeResult>>();

/**
 * Whether a GPU provider starts on this machine: a child process opens a
 * one-node model with it and runs it once. In a child, because a provider that
 * cannot start writes to the process's stderr from native code (Dawn prints
 * "Warning: Couldn't load Vulkan…" over several lines whatever onnxruntime's log
 * level), and the precise cause of a failed CUDA load (which of libcudart,
 * libcublas, libcudnn is missing) appears only in onnxruntime's log, never in
 * the exception ("Failed to load shared library"): the child's stderr is read
 * for the reason and never shown. A driver crash also takes down only the child.
 * Costs ~0.12 s (webgpu without an adapter, 2 cores); the answer is kept for the
 * life of the process. The CPU is never probed.
 */
export function probeProvider(provider: Provider): Promise<ProbeResult> {
  if (provider === 'cpu') return Promise.resolve({ ok: true, reason: '' });
  let probe = probes.get(provider);
  if (!probe) {
    probe = runProbe(provider);
    probes.set(provider, probe);
  }
  return probe;
}

function runProbe(provider: Provider): Promise<ProbeResult> {
  const script = fileURLToPath(new URL('./provider-probe.js', import.meta.url));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, provider],
      { timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20, windowsHide: true },
      (err, stdout, stderr) => {
        let reply: { ok?: boolean; message?: string } = {};
        try {
          reply = JSON.parse(stdout.trim().split('\n').pop() ?? '') as typeof reply;
        } catch {
          // no answer: it crashed or timed out (below)
        }
        if (reply.ok) return resolve({ ok: true, reason: '' });
        const message =
          reply.message ??
          ((err as { killed?: boolean } | null)?.killed
            ? `did not start within ${PROBE_TIMEOUT_MS / 1000} s`
            : `the provider's test process died (${err?.message.split('\n')[0] ?? 'no answer'})`);
        resolve({ ok: false, reason: explainFailure(provider, message, stderr) });
      },
    );
  });
}

/** One line from onnxruntime's failure message and, for a probe, the child's log. */
export function explainFailure(provider: Provider, message: string, log = ''): string {
  const first = cleanOrtMessage(message);
  if (provider === 'webgpu' && /Failed to get a WebGPU adapter|No supported adapters/i.test(message)) {
    const vulkan = /Couldn't load Vulkan: ([^\n]+)/.exec(log);
    const detail = vulkan ? `Vulkan could not be loaded: ${vulkan[1].trim()}` : first.replace(/^.*Failed to get a WebGPU adapter:\s*/i, '');
    return `no GPU adapter was found (${detail})`;
  }
  if (provider === 'cuda' && /Failed to load shared library/i.test(message)) {
    // onnxruntime logs "Failed to load library /…/libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open…"
    const lib = /Failed to load library \S*?([^/\s]+) with error: (?:\S*\/)?([^\n]+)/.exec(log);
    return `the CUDA provider could not be loaded${lib ? ` (${lib[1]}: ${lib[2].trim()})` : ''}`;
  }
  return first;
}

/** The first line of an onnxruntime error, without its source location and assertion text. */
function cleanOrtMessage(message: string): string {
  let line = message.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  line = line.replace(/^\[ONNXRuntimeError\] : \d+ : \w+ : /, '');
  const assertion = line.indexOf(' was false. ');
  if (assertion >= 0) line = line.slice(assertion + ' was false. '.length);
  line = line.replace(/^\/\S+:\d+ \S+ /, ''); // "/onnxruntime_src/…/file.cc:136 function "
  return line.trim().slice(0, 400);
}

// ---------------------------------------------------------------------------
// Opening on the chosen device

export interface OnDeviceOptions {
  /** Called with the one line said when a provider was tried and failed and another one runs; default: stderr. */
  onFallback?: (line: string) => void;
  /** What is being opened, for messages (a model path). */
  what?: string;
}

export interface OnDevice<T> {
  value: T;
  /** The provider that runs it. */
  provider: Provider;
  /** The fallback line, if one was said. */
  fallback: string | null;
}

/** Lines already said: a command that opens the image and the text encoder on `auto` says its fallback once. */
const said = new Set<string>();

function sayOnStderr(line: string): void {
  if (said.has(line)) return;
  said.add(line);
  process.stderr.write(`picsift: ${line}\n`);
}

/**
 * Opens something (a session, a set of sessions) on the first candidate of
 * `choice` that works: a GPU provider is first probed, then `open` is called
 * with it; if either fails, `auto` goes on to the next candidate and, once one
 * works, says in one line what was tried and why it failed. An explicit device
 * that fails is a DeviceError (one line: the device, the reason, the fix). The
 * CPU's own failures (a broken model file) are thrown as they are.
 */
export async function openOnDevice<T>(
  choice: DeviceChoice,
  open: (provider: Provider) => Promise<T>,
  options: OnDeviceOptions = {},
): Promise<OnDevice<T>> {
  const failures: string[] = [];
  for (const provider of choice.candidates) {
    if (provider !== 'cpu') {
      const probe = await probeProvider(provider);
      if (!probe.ok) {
        if (choice.requested !== 'auto') throw cannotStart(choice, provider, probe.reason);
        failures.push(`${provider}: ${probe.reason}`);
        continue;
      }
    }
    let value: T;
    try {
      value = await open(provider);
    } catch (err) {
      if (provider === 'cpu') throw err;
      const reason = explainFailure(provider, (err as Error).message);
      if (choice.requested !== 'auto') throw cannotStart(choice, provider, `cannot run ${options.what ?? 'the model'}: ${reason}`);
      failures.push(`${provider}: ${reason}`);
      continue;
    }
    const fallback = failures.length > 0 ? fallbackLine(choice, provider, failures) : null;
    if (fallback) (options.onFallback ?? sayOnStderr)(fallback);
    return { value, provider, fallback };
  }
  // Only an `auto` without the CPU gets here, which resolveDevice never makes.
  throw new DeviceError(choice.requested, `${choice.from} ${choice.requested}: no provider could be used (${failures.join('; ')})`);
}

/**
 * The provider a device request ends up on, without a model: probes the
 * candidates as openOnDevice does (for `status`, `picsift --device cuda status`).
 */
export async function probeDevice(choice: DeviceChoice, options: OnDeviceOptions = {}): Promise<OnDevice<null>> {
  return openOnDevice(choice, () => Promise.resolve(null), options);
}

function fallbackLine(choice: DeviceChoice, provider: Provider, failures: string[]): string {
  const using = provider === 'cpu' ? 'the CPU' : provider;
  const skipped = choice.skipped.length > 0 ? `; not tried: ${choice.skipped.join(', ')}` : '';
  return `${choice.from} ${choice.requested}: running on ${using}; tried ${failures.join('; ')}${skipped}`;
}

const WEBGPU_NEEDS: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'a GPU with a Vulkan driver and the Vulkan loader (libvulkan.so.1)',
  win32: 'a GPU with a Direct3D 12 driver',
  darwin: 'a Metal GPU',
};

function fix(provider: Provider): string {
  switch (provider) {
    case 'cuda':
      return 'the CUDA add-on needs an NVIDIA GPU and driver, CUDA 12 and cuDNN 9 on the library path (e.g. LD_LIBRARY_PATH); or use --device webgpu, cpu or auto';
    case 'webgpu':
      return `WebGPU needs ${WEBGPU_NEEDS[process.platform] ?? 'a GPU'}; use --device cpu (or auto) on this machine`;
    case 'dml':
      return 'DirectML needs a DirectX 12 GPU; use --device cpu (or auto)';
    default:
      return 'use --device cpu (or auto)';
  }
}

function cannotStart(choice: DeviceChoice, provider: Provider, reason: string): DeviceError {
  return new DeviceError(provider, `${choice.from} ${provider}: ${reason}; ${fix(provider)}`);
}
