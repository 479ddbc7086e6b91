// bench:embed — is embedding as fast as the model itself? In one run, each phase in
// its own process (so that peak memory and thread state are the phase's own):
//   model     the ImageEncoder alone on pre-made tensors, images/s (measured before
//             and after the pipeline; the mean is model_only_ips)
//   decode    read + decode + preprocess alone: sharp.concurrency(1), one image at a
//             time, ms per image per thread (wall and CPU), without and with file reads
//   pipeline  scan + embed into a fresh temporary library, images/s and peak RSS
// and prints pipeline/model-only. Both use the same encoder options and batch size.
// ratio_cpu_bound is the best ratio the CPU allows: model CPU per image over model
// plus decode CPU per image (decoding shares the cores the model alone fills).
//
//   npm run bench:embed -- --model DIR [--dtype fp32|q8] --images DIR [--out FILE.json]
//     [--repeat R]             R copies of every image (each with distinct trailing bytes,
//                              so none reuses another's vector): a longer, steadier run
//     [--batch-size N] [--sessions N] [--threads N] [--spinning] [--exact]
//     [--decode-concurrency N] [--decode-workers N]   files read and decoded at once, and in how many
//                              worker threads (default: the pipeline's decode plan for the provider;
//                              the JSON's decode_in_flight and decode_workers say what ran)
//     [--device cpu|auto|cuda|webgpu|dml|coreml]   where the model runs (default cpu); the JSON's
//                              "provider" is the one that ran, and the batch size defaults to its own
//     [--decode-threads 1,2,4,…]  also decode photos/s at each thread count (bench/decode.ts):
//                              JSON decode_ips_by_threads
import { execFileSync } from 'node:child_process';
import { copyFileSync, appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { preprocessInto } from '../src/media/preprocess.js';
import { DEFAULT_IMAGE_SESSIONS, ImageEncoder, type ImageEncoderOptions } from '../src/model/encoders.js';
import { defaultBatchSize, probeDevice, resolveDevice, type Provider } from '../src/model/execution-provider.js';
import { parseDtype, parseModelArg, resolveModel, type ResolvedModel } from '../src/model/model-files.js';
import { embedPending, type EmbedOptions } from '../src/pipeline/embed.js';
import { DEFAULT_FAST_SHRINK } from '../src/pipeline/prepare.js';
import { registerFolders } from '../src/pipeline/register.js';
import { scanImages } from '../src/pipeline/scan.js';
import { numberArg, parseArgs, requiredArg } from './args.js';
import { parseThreadList, runDecodeBench } from './decode.js';
import { peakRssBytes, report, round, timed } from './stats.js';

const args = parseArgs(process.argv.slice(2));
const phase = args.get('phase');
// --device: this process resolves it (auto: probing, with its one-line fallback);
// the phases are handed the provider it chose (runPhase).
const requestedDevice = args.get('device') ?? 'cpu';
const device = phase
  ? { provider: requestedDevice as Provider, fallback: null }
  : await probeDevice(resolveDevice(requestedDevice), { onFallback: (line) => process.stderr.write(`bench:embed: ${line}\n`) });
const batchSize = numberArg(args, 'batch-size', defaultBatchSize(device.provider));
const encoderOptions: ImageEncoderOptions = {
  sessions: numberArg(args, 'sessions', DEFAULT_IMAGE_SESSIONS),
  // Unset: the provider's own (one per core on the CPU, 1 beside a GPU).
  threads: args.has('threads') ? numberArg(args, 'threads', 0) : undefined,
  spinning: args.has('spinning'),
  device: device.provider,
};
const embedOptions: EmbedOptions = {
  batchSize,
  // Unset: the pipeline's decode plan (configureDecoding for the provider).
  decodeConcurrency: args.has('decode-concurrency') ? numberArg(args, 'decode-concurrency', 0) : undefined,
  decodeWorkers: args.has('decode-workers') ? numberArg(args, 'decode-workers', 0) : undefined,
  fastShrink: args.has('exact') ? false : DEFAULT_FAST_SHRINK,
};

async function loadModel(): Promise<ResolvedModel> {
  const dir = parseModelArg(requiredArg(args, 'model'));
  return resolveModel({ id: dir, dtype: parseDtype(args.get('dtype') ?? 'fp32') }, { cacheDir: tmpdir() });
}

async function imageFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const file of scanImages([dir])) if (!file.notImage) files.push(file.path);
  return files;
}

/** Phase model: the encoder kept busy with pre-made tensors of real photos. */
async function modelPhase(): Promise<object> {
  const model = await loadModel();
  const encoder = await ImageEncoder.load(model, encoderOptions);
  const files = await imageFiles(requiredArg(args, 'images'));
  const per = encoder.pixelsPerImage;
  const pixels = new Float32Array(batchSize * per);
  for (let i = 0; i < batchSize; i++) {
    await preprocessInto(readFileSync(files[i % files.length]), encoder.preprocess, pixels, i * per, { fastShrink: true });
  }
  const target = Math.max(numberArg(args, 'count', files.length), batchSize * 4);
  const inFlight = encoder.parallelism + 1; // the next request is always queued
  // Warm-up: one batch per session (first runs allocate and pack weights).
  await Promise.all(Array.from({ length: encoder.parallelism }, () => encoder.encode(pixels, batchSize)));
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const { wallMs, cpuMs } = await timed(async () => {
    let started = 0;
    const running = new Set<Promise<unknown>>();
    while (started < target || running.size > 0) {
      while (started < target && running.size < inFlight) {
        const p: Promise<unknown> = encoder.encode(pixels, batchSize).finally(() => running.delete(p));
        running.add(p);
        started += batchSize;
      }
      await Promise.race(running);
    }
    return started;
  });
  lag.disable();
  const images = Math.ceil(target / batchSize) * batchSize;
  await encoder.close();
  return {
    model_only_ips: images / (wallMs / 1000),
    model_cpu_ms_per_image: cpuMs / images,
    model_images: images,
    event_loop_max_lag_ms: lag.max / 1e6,
    peak_rss_bytes: peakRssBytes(),
  };
}

/** Phase decode: one image at a time on one libvips thread. */
async function decodePhase(): Promise<object> {
  sharp.concurrency(1);
  const model = await loadModel();
  const encoder = await ImageEncoder.load(model, { sessions: 0, threads: 1 }); // only for its preprocessing config
  const config = encoder.preprocess;
  await encoder.close();
  const files = await imageFiles(requiredArg(args, 'images'));
  const bytes = files.map((f) => readFileSync(f));
  const out = new Float32Array(3 * config.cropHeight * config.cropWidth);
  const { createHash } = await import('node:crypto');
  const passes = numberArg(args, 'passes', 3);
  // Best of `passes` runs over the whole set: other processes on the machine only ever add time.
  const measure = async (work: (i: number) => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> => {
    let best = { ms: Infinity, cpuMs: Infinity };
    for (let pass = 0; pass < passes; pass++) {
      const { wallMs, cpuMs } = await timed(async () => {
        for (let i = 0; i < files.length; i++) await work(i);
      });
      if (wallMs < best.ms) best = { ms: wallMs / files.length, cpuMs: cpuMs / files.length };
    }
    return best;
  };
  const decode = (fastShrink: boolean) => (i: number) => preprocessInto(bytes[i], config, out, 0, { fastShrink });
  const withRead = (fastShrink: boolean) => async (i: number) => {
    const data = readFileSync(files[i]);
    createHash('sha256').update(data).digest('hex');
    await preprocessInto(data, config, out, 0, { fastShrink });
  };
  // The floor under any JPEG preprocessing here: libjpeg's entropy decoding of the
  // whole file, measured as a DCT-scaled (1/8) decode with a nearest-neighbour
  // resize and no tensor. Its time follows the compressed size, not the pixels.
  const floor = async (i: number): Promise<unknown> => {
    const { width = 8, height = 8 } = await sharp(bytes[i]).metadata();
    return sharp(bytes[i])
      .resize(Math.max(1, width >> 3), Math.max(1, height >> 3), { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer();
  };
  await measure(decode(true)); // warm-up
  const decodeFloor = await measure(floor);
  const megabytes = bytes.reduce((sum, b) => sum + b.length, 0) / 1e6;
  const fast = await measure(decode(true));
  const exact = await measure(decode(false));
  const fastRead = await measure(withRead(true));
  const exactRead = await measure(withRead(false));
  const used = embedOptions.fastShrink ? fast : exact;
  const usedRead = embedOptions.fastShrink ? fastRead : exactRead;
  return {
    decode_ms: used.ms,
    decode_cpu_ms: used.cpuMs,
    decode_includes_file_reads: false,
    decode_with_read_and_hash_ms: usedRead.ms,
    decode_fast_shrink_ms: fast.ms,
    decode_fast_shrink_cpu_ms: fast.cpuMs,
    decode_exact_ms: exact.ms,
    decode_exact_cpu_ms: exact.cpuMs,
    decode_exact_with_read_and_hash_ms: exactRead.ms,
    decode_images: files.length,
    decode_floor_ms: decodeFloor.ms,
    decode_floor_ms_per_mb: (decodeFloor.ms * files.length) / megabytes,
    mean_file_mb: megabytes / files.length,
  };
}

/** Phase pipeline: register + embed into a fresh temporary library, as `picsift index` does. */
async function pipelinePhase(): Promise<object> {
  const model = await loadModel();
  const library = mkdtempSync(join(tmpdir(), 'picsift-bench-embed-'));
  try {
    const catalog = await openCatalog({ libraryDir: library });
    await registerFolders(catalog.scans, [requiredArg(args, 'images')]);
    const encoder = await ImageEncoder.load(model, encoderOptions);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(process.memoryUsage.rss()), 100);
    await catalog.models.claimModel({ id: model.id, dtype: model.dtype, dims: encoder.dims });
    const { value, cpuMs } = await timed(() => embedPending(catalog.embedQueue(), encoder, embedOptions));
    clearInterval(sampler);
    await encoder.close();
    await catalog.close();
    const quarter = (q: number): number => rss[Math.min(rss.length - 1, Math.floor(q * rss.length))] ?? 0;
    return {
      pipeline_ips: value.embedded / value.seconds,
      pipeline_seconds: value.seconds,
      pipeline_cpu_ms_per_image: cpuMs / value.embedded,
      embedded: value.embedded,
      failed: value.failed,
      decode_in_flight: value.decoding.inFlight,
      decode_workers: value.decoding.workers,
      decode_threads: value.decoding.threads,
      peak_rss_bytes: peakRssBytes(),
      rss_at_quarters: [0.25, 0.5, 0.75, 1].map(quarter),
    };
  } finally {
    rmSync(library, { recursive: true, force: true });
  }
}

/** Runs one phase in a child process and returns its JSON. */
function runPhase(name: string, extra: string[] = []): Record<string, number> {
  const self = fileURLToPath(import.meta.url);
  const stdout = execFileSync(process.execPath, [self, ...process.argv.slice(2), ...extra, '--device', device.provider, '--phase', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.toString()) as Record<string, number>;
}

/** --repeat R: R copies of every image, each made unique by bytes after the JPEG's end (decoders ignore them). */
async function repeatedImages(dir: string, repeat: number): Promise<{ dir: string; cleanup: () => void }> {
  if (repeat <= 1) return { dir, cleanup: () => {} };
  const copies = mkdtempSync(join(tmpdir(), 'picsift-bench-images-'));
  const files = await imageFiles(dir);
  for (let r = 0; r < repeat; r++) {
    files.forEach((file, i) => {
      const copy = join(copies, `${r}-${i}-${basename(file)}`);
      copyFileSync(file, copy);
      if (r > 0) appendFileSync(copy, Buffer.from(`picsift-bench-copy-${r}`));
    });
  }
  return { dir: copies, cleanup: () => rmSync(copies, { recursive: true, force: true }) };
}

async function main(): Promise<void> {
  if (phase === 'model') return report(await modelPhase(), undefined);
  if (phase === 'decode') return report(await decodePhase(), undefined);
  if (phase === 'pipeline') return report(await pipelinePhase(), undefined);

  const images = await repeatedImages(requiredArg(args, 'images'), numberArg(args, 'repeat', 1));
  try {
    const at = ['--images', images.dir];
    const load = [loadavg()[0]];
    const before = runPhase('model', at);
    const decode = runPhase('decode', ['--images', requiredArg(args, 'images')]);
    const pipeline = runPhase('pipeline', at);
    const after = runPhase('model', at);
    load.push(loadavg()[0]);
    const modelIps = (before.model_only_ips + after.model_only_ips) / 2;
    const decodeByThreads = args.has('decode-threads')
      ? runDecodeBench({
          images: requiredArg(args, 'images'),
          model: (await loadModel()).dir,
          threads: parseThreadList(requiredArg(args, 'decode-threads')),
        })
      : {};
    report(
      {
        model_only_ips: round(modelIps, 2),
        pipeline_ips: round(pipeline.pipeline_ips, 2),
        ratio: round(pipeline.pipeline_ips / modelIps, 3),
        // When the model alone keeps every core busy, decoding can only take cores
        // from it: the pipeline can reach at most model CPU / (model + decode CPU)
        // of the model's own rate, however well the two overlap.
        ratio_cpu_bound: round(before.model_cpu_ms_per_image / (before.model_cpu_ms_per_image + decode.decode_cpu_ms), 3),
        decode_ms: round(decode.decode_ms, 2),
        peak_rss_bytes: pipeline.peak_rss_bytes,
        dtype: args.get('dtype') ?? 'fp32',
        images: pipeline.embedded,
        failed: pipeline.failed,
        model_only_ips_before_after: [round(before.model_only_ips, 2), round(after.model_only_ips, 2)],
        model_cpu_ms_per_image: round(before.model_cpu_ms_per_image, 1),
        model_event_loop_max_lag_ms: round(before.event_loop_max_lag_ms, 1),
        pipeline_cpu_ms_per_image: round(pipeline.pipeline_cpu_ms_per_image, 1),
        pipeline_seconds: round(pipeline.pipeline_seconds, 2),
        pipeline_rss_at_quarters: pipeline.rss_at_quarters,
        decode_cpu_ms: round(decode.decode_cpu_ms, 2),
        decode_includes_file_reads: false,
        decode_with_read_and_hash_ms: round(decode.decode_with_read_and_hash_ms, 2),
        decode_fast_shrink_ms: round(decode.decode_fast_shrink_ms, 2),
        decode_exact_ms: round(decode.decode_exact_ms, 2),
        decode_fast_shrink_cpu_ms: round(decode.decode_fast_shrink_cpu_ms, 2),
        decode_exact_cpu_ms: round(decode.decode_exact_cpu_ms, 2),
        decode_floor_ms: round(decode.decode_floor_ms, 2),
        decode_floor_ms_per_mb: round(decode.decode_floor_ms_per_mb, 2),
        mean_file_mb: round(decode.mean_file_mb, 2),
        batch_size: batchSize,
        sessions: encoderOptions.sessions,
        threads: encoderOptions.threads,
        spinning: encoderOptions.spinning,
        fast_shrink: embedOptions.fastShrink,
        decode_concurrency: pipeline.decode_in_flight,
        decode_workers: pipeline.decode_workers,
        decode_threads: pipeline.decode_threads,
        load_average_before_after: load.map((l) => round(l, 2)),
        provider: device.provider,
        device: requestedDevice,
        device_fallback: device.fallback,
        ...decodeByThreads,
      },
      args.get('out'),
    );
  } finally {
    images.cleanup();
  }
}

await main();
