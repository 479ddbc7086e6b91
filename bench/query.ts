// bench:query — text query latency against a library of N vectors (default 1M):
//   build    a real catalogue through the Catalog interface (registerFiles, then
//            commitBatch of synthetic vectors, 10,000 rows per transaction) and its
//            ANN index, each timed
//   reads    the catalogue reads a search makes, at that size
//   warm     one process keeps the text encoder loaded: p50 of TextEncoder.encode +
//            searchVectors over 100 queries
//   cold     whole `picsift search-text` CLI processes
//   tail     10,000 vectors committed after the index's watermark, scanned exactly
//
//   npm run bench:query -- --n 1000000 [--model DIR] [--dtype fp32] [--out FILE.json]
//     [--library DIR]   keep the library there and reuse it on the next run (building takes minutes)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Catalog, EmbeddedImage, ScannedFile } from '../src/catalog/catalog.js';
import { AnnIndex, buildIndex, readManifest } from '../src/index/ann-index.js';
import { openLibrary, type LibraryPaths } from '../src/library.js';
import { TextEncoder } from '../src/model/encoders.js';
import { parseDtype, resolveModel } from '../src/model/model-files.js';
import { searchVectors } from '../src/search/vector-search.js';
import { attachPaths } from '../src/app/search-results.js';
import { models, repoRoot } from '../scripts/paths.js';
import { numberArg, parseArgs } from './args.js';
import { quantile, report, round } from './stats.js';
import { SyntheticVectors } from './synthetic-vectors.js';

const args = parseArgs(process.argv.slice(2));
const n = numberArg(args, 'n', 1_000_000);
const modelDir = resolve(args.get('model') ?? models.benchClip);
const dtype = parseDtype(args.get('dtype') ?? 'fp32');
const queryCount = numberArg(args, 'queries', 100);
const coldRuns = numberArg(args, 'cold-runs', 5);
const k = 20; // the CLI's default -n
const dims = 512;
const space = new SyntheticVectors({ dims, clusters: 2000, seed: 20261124, noiseDecay: 0.5 });
const say = (line: string): void => void process.stderr.write(`${line}\n`);
const ROWS_PER_TRANSACTION = 10_000;

const WORDS = [
  'dog',
  'cat',
  'beach',
  'sunset',
  'mountain',
  'car',
  'bicycle',
  'birthday cake',
  'snow',
  'forest',
  'city at night',
  'red flower',
  'old bridge',
  'boat',
  'portrait',
  'kitchen',
  'train',
  'horse',
  'lake',
  'concert',
];
const queries = Array.from(
  { length: queryCount },
  (_, i) => `a photo of a ${WORDS[i % WORDS.length]}${i >= WORDS.length ? ` ${Math.floor(i / WORDS.length)}` : ''}`,
);

function timeMs(work: () => void): number {
  const t0 = performance.now();
  work();
  return performance.now() - t0;
}

/** Registers `count` synthetic files and commits their vectors, as scan + embed would, but without images. */
function fillCatalogue(catalog: Catalog, from: number, count: number): { register_s: number; commit_s: number } {
  const scanId = catalog.beginScan();
  const t0 = performance.now();
  for (let start = from; start < from + count; start += ROWS_PER_TRANSACTION) {
    const files: ScannedFile[] = [];
    for (let i = start; i < Math.min(from + count, start + ROWS_PER_TRANSACTION); i++) {
      files.push({
        path: `/photos/${String(Math.floor(i / 1000)).padStart(5, '0')}/IMG_${String(i).padStart(7, '0')}.jpg`,
        size: 3_000_000 + i,
        mtimeMs: 1_700_000_000_000 + i,
        format: 'jpg',
      });
    }
    catalog.registerFiles(files, scanId);
  }
  const t1 = performance.now();
  let cursor = 0;
  for (;;) {
    const records = catalog.pendingImages(cursor, ROWS_PER_TRANSACTION);
    if (records.length === 0) break;
    cursor = records[records.length - 1].id;
    const embedded: EmbeddedImage[] = records.map((r) => ({
      id: r.id,
      size: r.size,
      mtimeMs: r.mtimeMs,
      vector: space.imageVector(r.id - 1),
      width: 4000,
      height: 3000,
      contentHash: r.id.toString(16).padStart(64, '0'),
    }));
    catalog.commitBatch(embedded, []);
    if (Math.floor(cursor / 100_000) !== Math.floor((cursor - records.length) / 100_000)) say(`  ${cursor} vectors committed`);
  }
  return { register_s: (t1 - t0) / 1000, commit_s: (performance.now() - t1) / 1000 };
}

function buildLibrary(paths: LibraryPaths, catalog: Catalog): object {
  catalog.claimModel({ id: modelDir, dtype, dims });
  say(`filling a catalogue with ${n} images and vectors…`);
  const filled = fillCatalogue(catalog, 0, n);
  say('building the index…');
  const t0 = performance.now();
  buildIndex(paths.index, catalog.model()!, (seq) => catalog.vectorsAfter(seq));
  return { ...filled, index_s: (performance.now() - t0) / 1000 };
}

/** p50 and p99 in ms of `runs` calls of `work`. */
function latency(runs: number, work: (i: number) => void): { p50_ms: number; p99_ms: number } {
  const times = Array.from({ length: runs }, (_, i) => timeMs(() => work(i)));
  return { p50_ms: round(quantile(times, 0.5), 3), p99_ms: round(quantile(times, 0.99), 3) };
}

function catalogueReads(catalog: Catalog, index: AnnIndex | null): object {
  const ids = (i: number, count: number): number[] => Array.from({ length: count }, (_, j) => 1 + ((i * 7919 + j * 104_729) % n));
  return {
    vectors_of_50: latency(200, (i) => catalog.vectorsOf(ids(i, 50))),
    vectors_after_watermark_empty: latency(200, () => {
      for (const v of catalog.vectorsAfter(index?.manifest.watermark ?? 0)) void v;
    }),
    images_of_20: latency(200, (i) => catalog.images(ids(i, 20))),
    counts: latency(5, () => catalog.counts()),
  };
}

async function warmQueries(catalog: Catalog, index: AnnIndex | null, spinning: boolean): Promise<object> {
  const resolved = await resolveModel({ id: modelDir, dtype }, { cacheDir: tmpdir() });
  const t0 = performance.now();
  const encoder = await TextEncoder.load(resolved, { spinning });
  const loadMs = performance.now() - t0;
  await encoder.encode(['warm-up']);
  const encode: number[] = [];
  const search: number[] = [];
  const total: number[] = [];
  for (const query of queries) {
    const a = performance.now();
    const vector = await encoder.encode([query]);
    const b = performance.now();
    attachPaths(catalog, searchVectors(catalog, index, vector, k));
    const c = performance.now();
    encode.push(b - a);
    search.push(c - b);
    total.push(c - a);
  }
  await encoder.close();
  return {
    p50_ms: round(quantile(total, 0.5), 2),
    p99_ms: round(quantile(total, 0.99), 2),
    encode_p50_ms: round(quantile(encode, 0.5), 2),
    search_p50_ms: round(quantile(search, 0.5), 3),
    search_p99_ms: round(quantile(search, 0.99), 3),
    text_encoder_load_ms: round(loadMs, 0),
  };
}

function coldCli(library: string): object {
  const cli = join(repoRoot, 'bin', 'picsift.js');
  const run = (cliArgs: string[]): number => {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, [cli, ...cliArgs], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (result.status !== 0) throw new Error(`picsift ${cliArgs.join(' ')} failed: ${result.stderr}`);
    return ms;
  };
  const help = Array.from({ length: 3 }, () => run(['--help']));
  const nodeOnly = Array.from({ length: 3 }, () => timeMs(() => execFileSync(process.execPath, ['-e', '0'])));
  const search = Array.from({ length: coldRuns }, (_, i) =>
    run(['--library', library, 'search-text', queries[i % queries.length], '--json', '-n', String(k)]),
  );
  return {
    p50_ms: round(quantile(search, 0.5), 0),
    runs_ms: search.map((t) => round(t, 0)),
    node_startup_ms: round(quantile(nodeOnly, 0.5), 0),
    cli_help_ms: round(quantile(help, 0.5), 0),
  };
}

function tail(catalog: Catalog, index: AnnIndex | null, extra: number): object {
  const filled = fillCatalogue(catalog, catalog.counts().embedded, extra);
  const query = new Float32Array(dims);
  space.query(1, query);
  return { vectors_after_watermark: extra, ...filled, search: latency(20, () => searchVectors(catalog, index, query, k)) };
}

async function main(): Promise<void> {
  const library = args.get('library') ?? mkdtempSync(join(tmpdir(), 'picsift-bench-query-'));
  const { paths, catalog } = openLibrary(library);
  try {
    // A kept library is reused when it is large enough (each run adds its tail to it).
    const reuse = existsSync(join(paths.index, 'manifest.json')) && catalog.counts().embedded >= n;
    const built = reuse ? { reused: true } : buildLibrary(paths, catalog);
    const index = AnnIndex.open(paths.index);
    say('measuring…');
    const reads = catalogueReads(catalog, index);
    const warm = await warmQueries(catalog, index, false);
    const warmSpinning = await warmQueries(catalog, index, true);
    const cold = coldCli(library);
    const extra = numberArg(args, 'tail', 10_000);
    const tailFigures = tail(catalog, index, extra);
    // Leave a reusable library as it was: index the tail too.
    buildIndex(paths.index, catalog.model()!, (seq) => catalog.vectorsAfter(seq));
    report(
      {
        n: catalog.counts().embedded - extra,
        warm_p50_ms: (warm as { p50_ms: number }).p50_ms,
        cold_cli_p50_ms: (cold as { p50_ms: number }).p50_ms,
        build: built,
        index: readManifest(paths.index)?.params,
        catalogue_reads: reads,
        warm,
        warm_text_encoder_spinning: warmSpinning,
        cold,
        tail: tailFigures,
        dtype,
        k,
      },
      args.get('out'),
    );
  } finally {
    catalog.close();
    if (!args.has('library')) rmSync(library, { recursive: true, force: true });
  }
}

await main();
