// bench:query — text query latency against a library of N vectors (default 1M):
//   build    a real catalogue through the Catalog interface (registerFiles, then
//            commitBatch of synthetic vectors, 10,000 rows per transaction) and its
//            ANN index, each timed
//   reads    the catalogue reads a search makes, at that size
//   warm     one process keeps the text encoder loaded: p50 of TextEncoder.encode +
//            the relevance cut-off (its sample kept, as a server keeps it) +
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
import type { Catalog } from '../src/catalog/ports.js';
import type { EmbeddedImage, ScannedFile } from '../src/catalog/types.js';
import { AnnIndex, readManifest } from '../src/index/ann-index.js';
import { refreshIndex } from '../src/app/index-service.js';
import { openLibrary, type LibraryPaths } from '../src/app/library.js';
import { TextEncoder } from '../src/model/encoders.js';
import { parseDtype, resolveModel } from '../src/model/model-files.js';
import { searchVectors } from '../src/search/vector-search.js';
import { attachPaths } from '../src/app/search-results.js';
import { LibrarySample, SAMPLE_SIZE } from '../src/app/library-sample.js';
import { relevanceCutoff } from '../src/search/relevance-cutoff.js';
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

async function timeMs(work: () => unknown): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

/** Registers `count` synthetic files and commits their vectors, as scan + embed would, but without images. */
async function fillCatalogue(catalog: Catalog, from: number, count: number): Promise<{ register_s: number; commit_s: number }> {
  const scanId = await catalog.scans.beginScan();
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
    await catalog.scans.registerFiles(files, scanId);
  }
  const t1 = performance.now();
  const queue = catalog.embedQueue();
  for (;;) {
    const records = await queue.claim(ROWS_PER_TRANSACTION);
    if (records.length === 0) break;
    const cursor = records[records.length - 1].id;
    const embedded: EmbeddedImage[] = records.map((r) => ({
      id: r.id,
      size: r.size,
      mtimeMs: r.mtimeMs,
      vector: space.imageVector(r.id - 1),
      width: 4000,
      height: 3000,
      contentHash: r.id.toString(16).padStart(64, '0'),
    }));
    await queue.commit(embedded, []);
    if (Math.floor(cursor / 100_000) !== Math.floor((cursor - records.length) / 100_000)) say(`  ${cursor} vectors committed`);
  }
  return { register_s: (t1 - t0) / 1000, commit_s: (performance.now() - t1) / 1000 };
}

async function buildLibrary(paths: LibraryPaths, catalog: Catalog): Promise<object> {
  await catalog.models.claimModel({ id: modelDir, dtype, dims });
  say(`filling a catalogue with ${n} images and vectors…`);
  const filled = await fillCatalogue(catalog, 0, n);
  say('building the index…');
  const t0 = performance.now();
  await refreshIndex(catalog, paths);
  return { ...filled, index_s: (performance.now() - t0) / 1000 };
}

/** p50 and p99 in ms of `runs` calls of `work`. */
async function latency(runs: number, work: (i: number) => unknown): Promise<{ p50_ms: number; p99_ms: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeMs(() => work(i)));
  return { p50_ms: round(quantile(times, 0.5), 3), p99_ms: round(quantile(times, 0.99), 3) };
}

async function catalogueReads(catalog: Catalog, index: AnnIndex | null): Promise<object> {
  const ids = (i: number, count: number): number[] => Array.from({ length: count }, (_, j) => 1 + ((i * 7919 + j * 104_729) % n));
  return {
    vectors_of_50: await latency(200, (i) => catalog.vectors.vectorsOf(ids(i, 50))),
    vectors_after_watermark_empty: await latency(200, async () => {
      for await (const page of catalog.vectors.tail(index?.manifest.upTo ?? 0)) void page;
    }),
    images_of_20: await latency(200, (i) => catalog.images.get(ids(i, 20))),
    // The relevance cut-off's calibration sample: drawn per CLI search, once a minute by a server.
    sample_for_cutoff: await latency(5, () => catalog.vectors.sample(SAMPLE_SIZE)),
    counts: await latency(5, () => catalog.images.counts()),
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
  const cutoff: number[] = [];
  // As SearchService does: the sample is kept (a warm server), each query scores it and sets its cut-off.
  const sample = new LibrarySample();
  const space = (await catalog.models.activeSpace())!.id;
  await sample.scores(catalog.vectors, space, new Float32Array(dims));
  for (const query of queries) {
    const a = performance.now();
    const vector = await encoder.encode([query]);
    const b = performance.now();
    const cut = relevanceCutoff(await sample.scores(catalog.vectors, space, vector)).score;
    const b2 = performance.now();
    await attachPaths(catalog.images, await searchVectors(catalog.vectors, index, vector, k), cut);
    const c = performance.now();
    encode.push(b - a);
    cutoff.push(b2 - b);
    search.push(c - b);
    total.push(c - a);
  }
  await encoder.close();
  return {
    p50_ms: round(quantile(total, 0.5), 2),
    p99_ms: round(quantile(total, 0.99), 2),
    encode_p50_ms: round(quantile(encode, 0.5), 2),
    search_p50_ms: round(quantile(search, 0.5), 3),
    cutoff_p50_ms: round(quantile(cutoff, 0.5), 3),
    search_p99_ms: round(quantile(search, 0.99), 3),
    text_encoder_load_ms: round(loadMs, 0),
  };
}

async function coldCli(library: string): Promise<object> {
  const cli = join(repoRoot, 'bin', 'picsift.js');
  const run = (cliArgs: string[]): number => {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, [cli, ...cliArgs], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (result.status !== 0) throw new Error(`picsift ${cliArgs.join(' ')} failed: ${result.stderr}`);
    return ms;
  };
  const help = Array.from({ length: 3 }, () => run(['--help']));
  const nodeOnly: number[] = [];
  for (let i = 0; i < 3; i++) nodeOnly.push(await timeMs(() => execFileSync(process.execPath, ['-e', '0'])));
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

async function tail(catalog: Catalog, index: AnnIndex | null, extra: number): Promise<object> {
  const filled = await fillCatalogue(catalog, (await catalog.images.counts()).embedded, extra);
  const query = new Float32Array(dims);
  space.query(1, query);
  return { vectors_after_watermark: extra, ...filled, search: await latency(20, () => searchVectors(catalog.vectors, index, query, k)) };
}

async function main(): Promise<void> {
  const library = args.get('library') ?? mkdtempSync(join(tmpdir(), 'picsift-bench-query-'));
  const { paths, catalog } = await openLibrary({ library });
  try {
    // A kept library is reused when it is large enough (each run adds its tail to it).
    const reuse = existsSync(join(paths.index, 'manifest.json')) && (await catalog.images.counts()).embedded >= n;
    const built = reuse ? { reused: true } : await buildLibrary(paths, catalog);
    const model = (await catalog.models.model())!;
    const index = AnnIndex.open(paths.index, { catalogId: await catalog.identity(), model });
    say('measuring…');
    const reads = await catalogueReads(catalog, index);
    const warm = await warmQueries(catalog, index, false);
    const warmSpinning = await warmQueries(catalog, index, true);
    const cold = await coldCli(library);
    const extra = numberArg(args, 'tail', 10_000);
    const tailFigures = await tail(catalog, index, extra);
    // Leave a reusable library as it was: index the tail too.
    await refreshIndex(catalog, paths);
    report(
      {
        n: (await catalog.images.counts()).embedded - extra,
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
    await catalog.close();
    if (!args.has('library')) rmSync(library, { recursive: true, force: true });
  }
}

await main();
