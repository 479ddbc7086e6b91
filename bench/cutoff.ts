// bench:cutoff — the measurements behind the adaptive relevance cut-off
// (src/search/relevance-cutoff.ts; README, "How many results"):
//   colour   240 generated colour photos (40 per colour: solid, shaded, with a stripe
//            of another colour) plus the 86 shared camera photos, indexed with
//            color-clip and with color-siglip through the real CLI; for each colour,
//            precision and recall of the default search (-n 1000) against the truth:
//            a colour photo is its colour; a camera photo is the colour nearest to
//            its mean colour, which is exactly what these models' image encoder
//            measures (the largest dimension of its stored vector)
//   random   the same library with clip-vit-b32-arch (CLIP ViT-B/32, random
//            weights: no real matches): how many photos the default search shows
//   clip-like synthetic CLIP-shaped vectors (bench/synthetic-vectors.ts) with a known
//            topic per image: the cut-off from a 1,024-vector sample of N, scored
//            against every vector, precision and recall per query
// The cut-off's cost per query is measured by bench:query (cutoff_p50_ms).
//
//   npm run bench:cutoff -- [--out FILE.json] [--work DIR (kept and reused)]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openCatalog } from '../src/catalog/open-catalog.js';
import { SAMPLE_SIZE } from '../src/app/library-sample.js';
import { relevanceCutoff } from '../src/search/relevance-cutoff.js';
import { COLORS, type Color } from '../src/testmodels/colors.js';
import { models, repoRoot, sharedDir } from '../scripts/paths.js';
import { parseArgs } from './args.js';
import { quantile, report, round } from './stats.js';
import { SyntheticVectors } from './synthetic-vectors.js';

const args = parseArgs(process.argv.slice(2));
const keep = args.get('work');
const work = keep ?? mkdtempSync(join(tmpdir(), 'picsift-bench-cutoff-'));
const say = (line: string): void => void process.stderr.write(`${line}\n`);
// The colour models' own colours, in the order of their vector's dimensions (the truth below relies on it).
const COLOURS = COLORS;
const BASE: Record<Color, [number, number, number]> = {
  red: [220, 30, 35],
  green: [40, 200, 60],
  blue: [35, 60, 200],
  yellow: [235, 215, 40],
  black: [15, 15, 18],
  white: [240, 240, 236],
};
const photos = join(sharedDir, 'data', 'photos');

/** 40 photos per colour: shades of it, some darkening across, some with a fifth in another colour. */
async function writeColourLibrary(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const [c, name] of COLOURS.entries()) {
    for (let i = 0; i < 40; i++) {
      const shade = BASE[name].map((v) => Math.max(0, Math.min(255, Math.round(v + (random() - 0.5) * 50))));
      const width = 120 + Math.floor(random() * 80);
      const height = 90 + Math.floor(random() * 60);
      const other = BASE[COLOURS[(c + 1 + (i % 5)) % 6]];
      const pixels = Buffer.alloc(width * height * 3);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let ch = 0; ch < 3; ch++) {
            let v = shade[ch];
            if (i % 4 === 2) v *= 0.75 + (0.25 * x) / width;
            if (i % 4 === 3 && x > width * 0.8) v = other[ch];
            pixels[(y * width + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v + (random() - 0.5) * 30)));
          }
        }
      }
      await sharp(pixels, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 88 })
        .toFile(join(dir, `${name}-${i}.jpg`));
    }
  }
}

const cli = (library: string, ...cliArgs: string[]): string =>
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'picsift.js'), '--library', library, ...cliArgs], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

interface Result {
  path: string;
  score: number;
}

/** The colour each image is, as the truth: its name for a generated photo, else its dominant dimension. */
async function truthOf(library: string): Promise<Map<string, string>> {
  const catalog = await openCatalog({ libraryDir: library }, { mustExist: true });
  const truth = new Map<string, string>();
  try {
    for await (const page of catalog.vectors.tail(0)) {
      const records = await catalog.images.get(page.map((v) => v.id));
      for (const v of page) {
        const path = records.get(v.id)!.path;
        const generated = /\/colours\/([a-z]+)-\d+\.jpg$/.exec(path)?.[1];
        truth.set(path, generated ?? COLOURS[v.vector.indexOf(Math.max(...v.vector))]);
      }
    }
  } finally {
    await catalog.close();
  }
  return truth;
}

async function colourTable(model: string, dir: string): Promise<object> {
  const library = join(work, `library-${model.split('/').pop()}`);
  if (!existsSync(join(library, 'catalog.sqlite'))) cli(library, '--model', model, 'index', dir, photos);
  const truth = await truthOf(library);
  const rows: object[] = [];
  for (const colour of COLOURS) {
    const body = JSON.parse(cli(library, 'search-text', colour, '--json', '-n', '1000')) as {
      cutoff: { score: number };
      results: Result[];
    };
    const relevant = [...truth.values()].filter((c) => c === colour).length;
    const hits = body.results.filter((r) => truth.get(r.path) === colour).length;
    const wrong = body.results.filter((r) => truth.get(r.path) !== colour);
    rows.push({
      query: colour,
      cutoff: round(body.cutoff.score, 3),
      shown: body.results.length,
      relevant,
      precision: round(hits / Math.max(1, body.results.length), 3),
      recall: round(hits / relevant, 3),
      false_positives: wrong.map((r) => `${r.path.split('/').pop()} (${round(r.score, 2)}, ${truth.get(r.path)})`),
    });
  }
  return { model: model.split('/').pop(), images: truth.size, rows };
}

async function randomWeights(dir: string): Promise<object> {
  const library = join(work, 'library-clip-vit-b32-arch');
  if (!existsSync(join(library, 'catalog.sqlite'))) cli(library, '--model', models.benchClip, 'index', dir, photos);
  const rows: object[] = [];
  for (const query of [...COLOURS, 'a photo of a dog', 'sky at sunset', 'a red car', 'people on a beach']) {
    const body = JSON.parse(cli(library, 'search-text', query, '--json', '-n', '1000')) as { results: Result[]; weaker: number };
    rows.push({ query, shown: body.results.length, of: body.results.length + body.weaker });
  }
  return { model: 'clip-vit-b32-arch (random weights)', rows };
}

/** CLIP-shaped synthetic vectors with a known topic per image; the cut-off from a sample, as search draws it. */
function clipLike(n: number, clusters: number): object {
  const space = new SyntheticVectors({ dims: 512, clusters, seed: 20261124, noiseDecay: 0.5 });
  const vectors = new Float32Array(n * 512);
  for (let i = 0; i < n; i++) space.image(i, vectors, i * 512);
  const sampleIds = Array.from({ length: SAMPLE_SIZE }, (_, i) => Math.floor(((i + 0.5) * n) / SAMPLE_SIZE));
  const query = new Float32Array(512);
  const precision: number[] = [];
  const recall: number[] = [];
  const shown: number[] = [];
  for (let q = 0; q < 50; q++) {
    space.query(q, query);
    const topic = space.queryTopic(q);
    const score = (i: number): number => {
      let s = 0;
      for (let j = 0; j < 512; j++) s += query[j] * vectors[i * 512 + j];
      return s;
    };
    const cut = relevanceCutoff(sampleIds.map(score)).score;
    let hits = 0;
    let total = 0;
    let relevant = 0;
    for (let i = 0; i < n; i++) {
      const isTopic = space.imageTopic(i) === topic;
      if (isTopic) relevant++;
      if (score(i) >= cut) {
        total++;
        if (isTopic) hits++;
      }
    }
    shown.push(total);
    precision.push(total ? hits / total : 1);
    recall.push(relevant ? hits / relevant : 1);
  }
  const mean = (xs: number[]): number => round(xs.reduce((a, b) => a + b, 0) / xs.length, 3);
  return {
    images: n,
    topics: clusters,
    matches_per_query: round(n / clusters, 1),
    precision_mean: mean(precision),
    precision_min: round(Math.min(...precision), 3),
    recall_mean: mean(recall),
    recall_min: round(Math.min(...recall), 3),
    shown_median: quantile(shown, 0.5),
  };
}

const colours = join(work, 'colours');
if (!existsSync(colours) || readdirSync(colours).length < 240) {
  say('writing 240 colour photos…');
  await writeColourLibrary(colours);
}
const result: Record<string, unknown> = {};
for (const model of [models.colorClip, models.colorSiglip]) {
  say(`colour library with ${model}…`);
  result[model.split('/').pop()!] = await colourTable(model, colours);
}
say('random weights…');
result.random_weights = await randomWeights(colours);
say('CLIP-like synthetic vectors…');
result.clip_like = [clipLike(50_000, 200), clipLike(50_000, 2000)];
report(result, args.get('out'));
if (!keep) rmSync(work, { recursive: true, force: true });
