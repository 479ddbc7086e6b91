// Formatting of command results. The JSON shapes are a public contract; the text
// forms are for people (and escaped for the terminal: see reporter.ts).
import type { Ranking } from '../app/search-service.js';
import type { SortOrder } from '../app/ranking.js';
import type { LibraryStatus, SpaceStatus } from '../app/status.js';
import type { DuplicateGroup } from '../app/duplicates.js';
import { safeText } from './reporter.js';

/** "1 image", "2 images", "1,240 images". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}

/**
 * `search-text --json`, spaced like the documented contract (Python's json.dumps
 * style): the query, the model, the cut-off used and how many results are matches,
 * then each result with its date taken and whether it is a match.
 */
export function searchJson(query: string, ranking: Ranking, sort: SortOrder = 'score'): string {
  const rows = ranking.results.map(
    (r) =>
      `{"rank": ${r.rank}, "id": ${r.id}, "path": ${JSON.stringify(r.path)}, "score": ${roundScore(r.score)}, ` +
      `"date": ${JSON.stringify(r.date)}, "match": ${r.match}}`,
  );
  const cutoff = `{"score": ${roundScore(ranking.cutoff.score)}, "source": ${JSON.stringify(ranking.cutoff.source)}}`;
  const notice = ranking.notice ? `, "notice": ${JSON.stringify(ranking.notice)}` : '';
  return (
    `{"query": ${JSON.stringify(query)}, "model": ${JSON.stringify(ranking.model)}, "cutoff": ${cutoff}, ` +
    `"matches": ${ranking.matches}, "weaker": ${ranking.weaker}, "sort": ${JSON.stringify(sort)}${notice}, "results": [${rows.join(', ')}]}`
  );
}

/**
 * Rank, score, (date when sorted by date) and path; scores keep their column
 * whatever their sign. With --all in score order a line marks the cut-off; in date
 * order a "·" before the score marks the results below it.
 */
export function searchTable(ranking: Pick<Ranking, 'results' | 'cutoff'>, options: { all?: boolean; sort?: SortOrder } = {}): string {
  const { results } = ranking;
  if (results.length === 0) return 'no results';
  const byDate = (options.sort ?? 'score') !== 'score';
  const lines: string[] = [];
  results.forEach((r, i) => {
    if (options.all && !byDate && !r.match && (i === 0 || results[i - 1].match)) {
      lines.push(`      ---- below the cut-off ${describeCutoff(ranking.cutoff)} ----`);
    }
    const mark = options.all && byDate ? (r.match ? '  ' : '· ') : '';
    const date = byDate ? `  ${r.date.replace('T', ' ')}` : '';
    lines.push(`${String(r.rank).padStart(4)}  ${mark}${roundScore(r.score).toFixed(4).padStart(7)}${date}  ${safeText(r.path)}`);
  });
  return lines.join('\n');
}

/** "0.8123 (adapted to this query)", for the summary line and the table. */
export function describeCutoff(cutoff: Ranking['cutoff']): string {
  const score = roundScore(cutoff.score).toFixed(4);
  return cutoff.source === 'adaptive'
    ? `${score}, adapted to this query`
    : cutoff.source === 'threshold'
      ? `${score}, --threshold`
      : 'none: too few photos to calibrate';
}

/** The line under a search's results: how many matched and what --all or -n would add. */
export function searchSummary(ranking: Ranking, k: number, all: boolean): string {
  const cut = `cut-off ${describeCutoff(ranking.cutoff)}`;
  if (all) return `${count(ranking.matches, 'match', 'matches')} and ${count(ranking.weaker, 'weaker result')} shown (${cut})`;
  const shown = Math.min(ranking.matches, k);
  if (ranking.matches > shown) return `${shown} of ${count(ranking.matches, 'match', 'matches')} shown · raise -n for more (${cut})`;
  if (shown === k) return `${count(shown, 'match', 'matches')} · maybe more: raise -n (${cut})`;
  const more = ranking.weaker > 0 ? ` · ${ranking.weaker.toLocaleString('en-US')} more with --all` : '';
  return `${ranking.matches === 0 ? 'no matches' : count(ranking.matches, 'match', 'matches')}${more} (${cut})`;
}

/** `status --json`: the documented keys first, then the library folder and every model's vectors. */
/** Where models would run on this machine (status --device): the provider, and why not the one asked for. */
export interface DeviceStatus {
  provider: string;
  fallback: string | null;
}

export function statusJson(s: LibraryStatus, device?: DeviceStatus): string {
  const spaces = s.spaces.map(
    (v) =>
      `{"model": ${JSON.stringify(v.model)}, "dtype": ${JSON.stringify(v.dtype)}, "dims": ${v.dims}, "state": ${JSON.stringify(v.state)}, ` +
      `"vectors": ${v.vectors}, "failed": ${v.failed}, "missing": ${v.missing}}`,
  );
  return (
    `{"images": ${s.images}, "embedded": ${s.embedded}, "pending": ${s.pending}, "failed": ${s.failed}, "indexed": ${s.indexed}, ` +
    `"model": ${JSON.stringify(s.model)}, "dtype": ${JSON.stringify(s.dtype)}, "library": ${JSON.stringify(s.library)}, "spaces": [${spaces.join(', ')}]` +
    `${device ? `, "device": ${JSON.stringify(device.provider)}, "device_fallback": ${JSON.stringify(device.fallback)}` : ''}}`
  );
}

export function statusText(s: LibraryStatus, catalog: string | null, device?: DeviceStatus): string {
  const others = s.spaces.filter((v) => v.state !== 'active').map((v) => spaceLine(v, s.embedded));
  return [
    `library   ${safeText(s.library)}`,
    ...(catalog ? [`catalogue ${safeText(catalog)}`] : []),
    `model     ${s.model ? `${safeText(s.model)} (${s.dtype})` : 'none yet'}`,
    ...others,
    `images    ${s.images}`,
    `embedded  ${s.embedded}`,
    `pending   ${s.pending}`,
    `failed    ${s.failed}`,
    `indexed   ${s.indexed}`,
    ...(device
      ? [`device    ${device.provider === 'cpu' ? 'the CPU' : device.provider}${device.fallback ? ` (${device.fallback})` : ''}`]
      : []),
  ].join('\n');
}

/** A model other than the active one: its progress and what to do next. */
function spaceLine(v: SpaceStatus, embedded: number): string {
  const model = `${safeText(v.model)} (${v.dtype})`;
  const flags = v.dtype === 'fp32' ? '' : ` --dtype ${v.dtype}`;
  const failed = v.failed ? `, ${count(v.failed, 'failure')}` : '';
  if (v.state === 'building') {
    const done = v.vectors + v.failed;
    const percent = embedded > 0 ? Math.floor((100 * done) / embedded) : 100;
    return v.missing > 0
      ? `reembed   ${model}: ${done.toLocaleString('en-US')} of ${embedded.toLocaleString('en-US')} (${percent}%)${failed}; ` +
          `\`picsift reembed --model ${safeText(v.model)}${flags}\` continues, search uses the model above meanwhile`
      : `reembed   ${model}: complete${failed}; \`picsift use-model ${safeText(v.model)}${flags}\` switches to it`;
  }
  return `retired   ${model}: ${count(v.vectors, 'vector')} kept; \`picsift drop-model ${safeText(v.model)}${flags}\` frees them`;
}

function roundScore(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}

/** `duplicates --json`: {"threshold": 0.95, "groups": [{"kind": "exact", "images": [{"id": 3, "path": "…"}]}]} */
export function duplicatesJson(threshold: number, groups: DuplicateGroup[]): string {
  return JSON.stringify({ threshold, groups });
}

/** One group per paragraph: its kind, then one path per line. */
export function duplicatesText(groups: DuplicateGroup[]): string {
  if (groups.length === 0) return 'no duplicates';
  return groups.map((g) => [`${g.kind} duplicates:`, ...g.images.map((i) => `  ${safeText(i.path)}`)].join('\n')).join('\n\n');
}
