// bench:ann — the ANN index at scale: builds an index over N synthetic clustered
// unit vectors (bench/synthetic-vectors.ts) with the project's buildIndex, then
// measures recall@10 against exact search over 1,000 text-like queries, query
// time, size on disk, peak memory, and adding 1% new vectors to the index.
//
//   npm run bench:ann -- --n 1000000 [--out FILE.json]
//     [--connectivity M] [--expansion-add N] [--expansion-search N] [--quantization f32|f16|i8]
//     [--search-ef 32,64,128]    also measure these search-time expansions on the same index
//     [--candidates N]           what search asks the index for before re-scoring (default: as search does for k=10)
//     [--queries 1000] [--clusters 2000] [--noise-decay 0.5]
//     [--keep DIR]               keep the index there; a later run with the same DIR only measures searches
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import usearch from 'usearch';
import type { StoredVector } from '../src/catalog/types.js';
import { AnnIndex, DEFAULT_PARAMS, buildIndex, readManifest, type IndexIdentity, type IndexParams } from '../src/index/ann-index.js';
import { numberArg, parseArgs } from './args.js';
import { peakRssBytes, quantile, report, round } from './stats.js';
import { SyntheticVectors } from './synthetic-vectors.js';

const args = parseArgs(process.argv.slice(2));
const n = numberArg(args, 'n', 1_000_000);
const queryCount = numberArg(args, 'queries', 1000);
const k = 10;
/** What searchVectors asks the index for when the user wants k results (k × its OVERFETCH + 10), unless --candidates. */
const candidates = numberArg(args, 'candidates', k * 2 + 10);
const dims = 512;
const params: IndexParams = {
  connectivity: numberArg(args, 'connectivity', DEFAULT_PARAMS.connectivity),
  expansionAdd: numberArg(args, 'expansion-add', DEFAULT_PARAMS.expansionAdd),
  expansionSearch: numberArg(args, 'expansion-search', DEFAULT_PARAMS.expansionSearch),
  quantization: (args.get('quantization') ?? DEFAULT_PARAMS.quantization) as IndexParams['quantization'],
};
const space = new SyntheticVectors({
  dims,
  clusters: numberArg(args, 'clusters', 2000),
  seed: numberArg(args, 'seed', 20261124),
  noiseDecay: numberArg(args, 'noise-decay', 0.5),
});
const model = { id: 'synthetic', dtype: 'fp32', dims };
/** A stand-in catalogue identity: the index only records it. */
const identity: IndexIdentity = { catalogId: 'bench-ann', model };
const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** Image n has catalogue id and position n + 1, as rows of a fresh SQLite library would. */
async function* images(from: number, to: number): AsyncGenerator<StoredVector[]> {
  const PAGE = 4096;
  for (let i = from; i < to; i += PAGE) {
    yield Array.from({ length: Math.min(PAGE, to - i) }, (_, j) => ({
      id: i + j + 1,
      position: i + j + 1,
      vector: space.imageVector(i + j),
    }));
  }
}

/** What VectorStore.readForIndex gives for a catalogue of the vectors with positions 1…to. */
const readUpTo = (to: number) => async (from: number) => ({ upTo: to + 1, pages: images(Math.max(0, from - 1), to) });

/** Exact top-k ids (image id = n + 1) per query, by brute force over every vector, chunk by chunk. */
function exactTopK(queries: Float32Array): Int32Array[] {
  const CHUNK = 16_384;
  const best = Array.from({ length: queryCount }, () => ({ ids: new Int32Array(k).fill(-1), dist: new Float32Array(k).fill(Infinity) }));
  const chunk = new Float32Array(CHUNK * dims);
  for (let start = 0; start < n; start += CHUNK) {
    const count = Math.min(CHUNK, n - start);
    for (let i = 0; i < count; i++) space.image(start + i, chunk, i * dims);
    const matches = usearch.exactSearch(
      chunk.subarray(0, count * dims),
      queries,
      dims,
      Math.min(k, count),
      usearch.MetricKind.Cos,
      0,
    ) as InstanceType<typeof usearch.BatchMatches>;
    for (let q = 0; q < queryCount; q++) {
      const m = matches.get(q);
      const b = best[q];
      for (let j = 0; j < m.keys.length; j++) {
        const d = m.distances[j];
        // Insert into the sorted top-k of this query.
        if (d >= b.dist[k - 1]) continue;
        let at = k - 1;
        while (at > 0 && b.dist[at - 1] > d) {
          b.dist[at] = b.dist[at - 1];
          b.ids[at] = b.ids[at - 1];
          at--;
        }
        b.dist[at] = d;
        b.ids[at] = start + Number(m.keys[j]) + 1;
      }
    }
    if ((start / CHUNK) % 8 === 0) say(`exact search: ${start + count} / ${n}`);
  }
  return best.map((b) => b.ids);
}

function recall(found: readonly number[], truth: Int32Array): number {
  const want = new Set(truth);
  return found.slice(0, k).filter((id) => want.has(id)).length / k;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

interface SearchFigures {
  expansion_search: number;
  recall_at_10: number;
  recall_at_10_rescored: number;
  p50_ms: number;
  p99_ms: number;
}

/** Recall and latency of one search-time expansion: raw index top-10, and top-10 after exact re-scoring as search does. */
function measureSearch(dir: string, queries: Float32Array, truth: Int32Array[], expansionSearch: number): SearchFigures {
  const index = AnnIndex.open(dir, identity, { expansionSearch })!;
  // One untimed pass first: the memory-mapped file's pages fault in on first touch,
  // which would otherwise charge the first expansion measured.
  for (let q = 0; q < queryCount; q++) index.search(queries.subarray(q * dims, (q + 1) * dims), candidates);
  const times: number[] = [];
  let raw = 0;
  let rescored = 0;
  for (let q = 0; q < queryCount; q++) {
    const query = queries.subarray(q * dims, (q + 1) * dims);
    const t0 = performance.now();
    const hits = index.search(query, candidates);
    times.push(performance.now() - t0);
    raw += recall(
      hits.map((h) => h.id),
      truth[q],
    );
    const exact = hits.map((h) => ({ id: h.id, score: dot(query, space.imageVector(h.id - 1)) })).sort((a, b) => b.score - a.score);
    rescored += recall(
      exact.map((h) => h.id),
      truth[q],
    );
  }
  return {
    expansion_search: expansionSearch,
    recall_at_10: raw / queryCount,
    recall_at_10_rescored: rescored / queryCount,
    p50_ms: quantile(times, 0.5),
    p99_ms: quantile(times, 0.99),
  };
}

function queryVectors(): Float32Array {
  const queries = new Float32Array(queryCount * dims);
  for (let q = 0; q < queryCount; q++) space.query(q, queries, q * dims);
  return queries;
}

/**
 * The exact answers, computed once per data set in a child process (so that this
 * process's peak memory is the index's alone) and kept in the temp folder.
 */
function groundTruth(): Int32Array[] {
  const { clusters, seed, noiseDecay } = space.space;
  const file = join(tmpdir(), `picsift-bench-ann-truth-v2-${n}-${queryCount}-${clusters}-${seed}-${noiseDecay}.bin`);
  if (!existsSync(file)) {
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--phase', 'truth', '--truth-file', file], {
      stdio: 'inherit',
    });
  }
  const all = new Int32Array(new Uint8Array(readFileSync(file)).buffer);
  return Array.from({ length: queryCount }, (_, q) => all.subarray(q * k, (q + 1) * k));
}

/** Runs one phase of this benchmark in a child process, so that its peak memory is its own. */
function runPhase(phase: string, extra: string[] = []): Record<string, unknown> {
  const stdout = execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), ...extra, '--phase', phase], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.toString()) as Record<string, unknown>;
}

/** Phase build: a fresh index of n vectors through buildIndex, as `picsift build-index --rebuild` does. */
async function buildPhase(dir: string): Promise<object> {
  say(`building an index of ${n} vectors with ${JSON.stringify(params)}…`);
  const t0 = performance.now();
  let reported = 0;
  const built = await buildIndex(dir, identity, readUpTo(n), {
    rebuild: true,
    params,
    onProgress: (added) => {
      if (added - reported >= 100_000) say(`  ${(reported = added)} added, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    },
  });
  return {
    build_s: (performance.now() - t0) / 1000,
    index_bytes: statSync(join(dir, built.manifest.file)).size,
    peak_rss_bytes: peakRssBytes(),
  };
}

/** Phase search: every requested search-time expansion on the memory-mapped index, as search opens it. */
function searchPhase(dir: string): object {
  const truth = groundTruth();
  const queries = queryVectors();
  const efs = [...new Set([params.expansionSearch, ...(args.get('search-ef')?.split(',').map(Number) ?? [])])];
  return { searches: efs.map((ef) => measureSearch(dir, queries, truth, ef)), peak_rss_bytes: peakRssBytes() };
}

/** Phase refresh: 1% new vectors (ids after the watermark) added to a copy of the index, no rebuild. */
async function refreshPhase(dir: string): Promise<object> {
  const copy = `${dir}-refresh`;
  cpSync(dir, copy, { recursive: true });
  try {
    const extra = Math.max(1, Math.round(n / 100));
    const t0 = performance.now();
    const refreshed = await buildIndex(copy, identity, readUpTo(n + extra));
    return {
      added: refreshed.added,
      refreshed: refreshed.refreshed,
      seconds: (performance.now() - t0) / 1000,
      peak_rss_bytes: peakRssBytes(),
    };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const phase = args.get('phase');
  if (phase === 'truth') {
    say('exact search for the ground truth…');
    const truth = exactTopK(queryVectors());
    const all = new Int32Array(queryCount * k);
    truth.forEach((ids, q) => all.set(ids, q * k));
    writeFileSync(args.get('truth-file')!, all);
    return;
  }
  if (phase === 'build') return report(await buildPhase(args.get('dir')!), undefined);
  if (phase === 'search') return report(searchPhase(args.get('dir')!), undefined);
  if (phase === 'refresh') return report(await refreshPhase(args.get('dir')!), undefined);

  groundTruth(); // computed (once per data set) before anything is timed
  const dir = args.get('keep') ?? mkdtempSync(join(tmpdir(), 'picsift-bench-ann-'));
  try {
    const at = ['--dir', dir];
    // A kept index is reused (with the figures of its build) to try search-time settings.
    const builtFile = join(dir, 'bench-build.json');
    const reused = existsSync(builtFile);
    const build = (reused ? JSON.parse(readFileSync(builtFile, 'utf8')) : runPhase('build', at)) as {
      build_s: number;
      index_bytes: number;
      peak_rss_bytes: number;
    };
    if (!reused && args.has('keep')) writeFileSync(builtFile, JSON.stringify(build));
    const search = runPhase('search', at) as { searches: SearchFigures[]; peak_rss_bytes: number };
    const refresh = (
      args.has('skip-refresh') ? { added: 0, refreshed: false, seconds: 0, peak_rss_bytes: 0 } : runPhase('refresh', at)
    ) as { added: number; refreshed: boolean; seconds: number; peak_rss_bytes: number };
    const main = search.searches[0];
    const rounded = (f: SearchFigures) => ({
      ...f,
      recall_at_10: round(f.recall_at_10, 4),
      recall_at_10_rescored: round(f.recall_at_10_rescored, 4),
      p50_ms: round(f.p50_ms, 3),
      p99_ms: round(f.p99_ms, 3),
    });
    report(
      {
        n,
        build_s: round(build.build_s, 1),
        recall_at_10: round(main.recall_at_10_rescored, 4),
        p50_ms: round(main.p50_ms, 3),
        p99_ms: round(main.p99_ms, 3),
        index_bytes: build.index_bytes,
        peak_rss_bytes: build.peak_rss_bytes,
        recall_at_10_index_only: round(main.recall_at_10, 4),
        search_peak_rss_bytes: search.peak_rss_bytes,
        params: reused ? { ...readManifest(dir)!.params, expansionSearch: params.expansionSearch } : params,
        index_reused: reused,
        candidates_per_query: candidates,
        queries: queryCount,
        clusters: space.space.clusters,
        noise_decay: space.space.noiseDecay,
        refresh: { ...refresh, seconds: round(refresh.seconds, 1) },
        search_expansions: search.searches.map(rounded),
      },
      args.get('out'),
    );
  } finally {
    if (!args.has('keep')) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
