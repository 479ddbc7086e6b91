// Formatting of command results. The JSON shapes are a public contract; the text
// forms are for people (and escaped for the terminal: see reporter.ts).
import type { SearchResult } from '../app/search-results.js';
import type { LibraryStatus } from '../app/status.js';
import type { DuplicateGroup } from '../app/duplicates.js';
import { safeText } from './reporter.js';

/** "1 image", "2 images", "1,240 images". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}

/** `search-text --json`, spaced like the documented contract (Python's json.dumps style). */
export function searchJson(query: string, model: string, results: SearchResult[]): string {
  const rows = results.map((r) => `{"rank": ${r.rank}, "id": ${r.id}, "path": ${JSON.stringify(r.path)}, "score": ${roundScore(r.score)}}`);
  return `{"query": ${JSON.stringify(query)}, "model": ${JSON.stringify(model)}, "results": [${rows.join(', ')}]}`;
}

/** Rank, score and path; scores keep their column whatever their sign. */
export function searchTable(results: SearchResult[]): string {
  if (results.length === 0) return 'no results';
  return results.map((r) => `${String(r.rank).padStart(4)}  ${roundScore(r.score).toFixed(4).padStart(7)}  ${safeText(r.path)}`).join('\n');
}

export function statusJson(s: LibraryStatus): string {
  return `{"images": ${s.images}, "embedded": ${s.embedded}, "pending": ${s.pending}, "failed": ${s.failed}, "indexed": ${s.indexed}, "model": ${JSON.stringify(s.model)}}`;
}

export function statusText(s: LibraryStatus, library: string, dtype: string | null, catalog: string | null): string {
  return [
    `library   ${safeText(library)}`,
    ...(catalog ? [`catalogue ${safeText(catalog)}`] : []),
    `model     ${s.model ? `${safeText(s.model)} (${dtype})` : 'none yet'}`,
    `images    ${s.images}`,
    `embedded  ${s.embedded}`,
    `pending   ${s.pending}`,
    `failed    ${s.failed}`,
    `indexed   ${s.indexed}`,
  ].join('\n');
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
