// bench:workers — what the PostgreSQL catalogue itself can sustain: 1, 2 and 4
// embed worker processes share one catalogue, with stand-ins for everything but
// the catalogue (bytes from memory, a no-op decoder, an encoder that returns
// fixed vectors), so the figures are the queue's: claims with leases, the
// identical-content lookup, commits of vectors and marks, lease renewal.
//
//   npm run bench:workers -- [--catalog postgres://…] [--images 20000] [--batch-size 64] [--workers 1,2,4] [--out FILE.json]
//
// Without --catalog a throwaway PostgreSQL cluster is started (Debian's postgresql).
// Each round registers --images synthetic images under /bench-workers/ in a fresh
// database (or, with --catalog, clears that folder of the given database first).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../src/catalog/open-catalog.js';
import type { EmbedQueue } from '../src/catalog/ports.js';
import { NO_EXIF, type ScannedFile } from '../src/catalog/types.js';
import type { PreprocessConfig } from '../src/media/preprocessor-config.js';
import { embedPending, type PipelineEncoder } from '../src/pipeline/embed.js';
import { PostgresServer } from '../test/postgres-server.js';
import { numberArg, parseArgs } from './args.js';
import { quantile, report, round } from './stats.js';

const args = parseArgs(process.argv.slice(2));
const DIMS = 512;
const ROOT = '/bench-workers';
const MODEL = { id: 'bench-workers', dtype: 'fp32', dims: DIMS };
const batchSize = numberArg(args, 'batch-size', 64);

interface WorkerFigures {
  committed: number;
  claimsMs: number[];
  startedAt: number;
  endedAt: number;
}

/** One worker process: the real queue and pipeline, stand-ins for files, decoder and model. */
async function workerPhase(url: string): Promise<void> {
  const catalog = await openCatalog({ url, libraryDir: '/nonexistent' });
  const queue = catalog.embedQueue({ worker: `bench pid ${process.pid}` });
  const claimsMs: number[] = [];
  const timedQueue: EmbedQueue = {
    pendingCount: () => queue.pendingCount(),
    claimedElsewhere: () => queue.claimedElsewhere(),
    claim: async (limit) => {
      const t0 = performance.now();
      const claimed = await queue.claim(limit);
      claimsMs.push(performance.now() - t0);
      return claimed;
    },
    commit: (embedded, failed) => queue.commit(embedded, failed),
    vectorForContent: (hash) => queue.vectorForContent(hash),
    retryFailed: () => queue.retryFailed(),
    close: () => queue.close(),
  };
  const vector = new Float32Array(DIMS).fill(1 / Math.sqrt(DIMS));
  const encoder: PipelineEncoder = {
    dims: DIMS,
    parallelism: 1,
    preprocess: { cropHeight: 1, cropWidth: 1 } as PreprocessConfig,
    encode: async (_pixels, count) => {
      const out = new Float32Array(count * DIMS);
      for (let i = 0; i < count; i++) out.set(vector, i * DIMS);
      return out;
    },
  };
  const startedAt = Date.now();
  const result = await embedPending(timedQueue, encoder, {
    batchSize,
    claimRetryMs: 200,
    read: async (path) => {
      const bytes = Buffer.from(path);
      return { bytes, size: bytes.length, mtimeMs: 1, contentHash: createHash('sha256').update(bytes).digest('hex') };
    },
    decode: async () => ({ width: 1, height: 1, exif: NO_EXIF }),
  });
  const figures: WorkerFigures = { committed: result.embedded, claimsMs, startedAt, endedAt: Date.now() };
  await queue.close();
  await catalog.close();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

/** Registers `count` synthetic images (no files: the workers' read stage serves their bytes). */
async function prepare(url: string, count: number): Promise<void> {
  const catalog = await openCatalog({ url, libraryDir: '/nonexistent' });
  try {
    await catalog.models.claimModel(MODEL);
    await catalog.maintenance.forget(ROOT);
    const scan = await catalog.scans.beginScan();
    for (let from = 0; from < count; from += 5000) {
      const files: ScannedFile[] = [];
      for (let i = from; i < Math.min(count, from + 5000); i++) {
        files.push({ path: `${ROOT}/${String(i).padStart(7, '0')}.jpg`, size: 1, mtimeMs: 1, format: 'jpg' });
      }
      await catalog.scans.registerFiles(files, scan);
    }
  } finally {
    await catalog.close();
  }
}

function runWorker(url: string): Promise<WorkerFigures> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fileURLToPath(import.meta.url), '--phase', 'worker', '--catalog', url, '--batch-size', String(batchSize)],
      { maxBuffer: 1 << 26 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as WorkerFigures)),
    );
  });
}

async function main(): Promise<void> {
  if (args.get('phase') === 'worker') return workerPhase(args.get('catalog')!);
  const images = numberArg(args, 'images', 20_000);
  const counts = (args.get('workers') ?? '1,2,4').split(',').map(Number);
  const server = args.has('catalog') ? null : await PostgresServer.start();
  try {
    const rounds: Record<string, object> = {};
    for (const n of counts) {
      const url = server ? await server.createDatabase() : args.get('catalog')!;
      await prepare(url, images);
      const figures = await Promise.all(Array.from({ length: n }, () => runWorker(url)));
      const committed = figures.reduce((s, f) => s + f.committed, 0);
      const seconds = (Math.max(...figures.map((f) => f.endedAt)) - Math.min(...figures.map((f) => f.startedAt))) / 1000;
      const claims = figures.flatMap((f) => f.claimsMs);
      rounds[String(n)] = {
        vectors_per_s: round(committed / seconds, 1),
        claim_p50_ms: round(quantile(claims, 0.5), 2),
        claim_p99_ms: round(quantile(claims, 0.99), 2),
        committed,
        seconds: round(seconds, 2),
      };
      process.stderr.write(`${n} worker(s): ${JSON.stringify(rounds[String(n)])}\n`);
    }
    report(
      { workers: rounds, images, batch_size: batchSize, dims: DIMS, catalog: server ? 'throwaway PostgreSQL cluster' : 'given --catalog' },
      args.get('out'),
    );
  } finally {
    await server?.dispose();
  }
}

await main();
