// Formatting of command results. The JSON shapes are a public contract.
import type { SearchResult } from '../app/search-results.js';
import type { LibraryStatus } from '../app/status.js';
import type { DuplicateGroup } from '../app/duplicates.js';

/** `search-text --json`, spaced like the documented contract (Python's json.dumps style). */
export function searchJson(query: string, model: string, results: SearchResult[]): string {
  const rows = results.map((r) => `{"rank": ${r.rank}, "id": ${r.id}, "path": ${JSON.stringify(r.path)}, "score": ${roundScore(r.score)}}`);
  return `{"query": ${JSON.stringify(query)}, "model": ${JSON.stringify(model)}, "results": [${rows.join(', ')}]}`;
}

export function searchTable(results: SearchResult[]): string {
  if (results.length === 0) return 'no results';
  return results.map((r) => `${String(r.rank).padStart(4)}  ${roundScore(r.score).toFixed(4)}  ${r.path}`).join('\n');
}

export function statusJson(s: LibraryStatus): string {
  return `{"images": ${s.images}, "embedded": ${s.embedded}, "pending": ${s.pending}, "failed": ${s.failed}, "indexed": ${s.indexed}, "model": ${JSON.stringify(s.model)}}`;
}

export function statusText(s: LibraryStatus, library: string, dtype: string | null): string {
  return [
    `library   ${library}`,
    `model     ${s.model ? `${s.model} (${dtype})` : 'none yet'}`,
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
  return groups.map((g) => [`${g.kind} duplicates:`, ...g.images.map((i) => `  ${i.path}`)].join('\n')).join('\n\n');
}
