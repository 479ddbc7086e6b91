// Duplicates for the API: walking the whole library is the one request that
// costs seconds (minutes at a million photos), so the answer is kept per state of
// the library (its counts and its index) and threshold, and concurrent requests
// for the same answer share one walk. The walk yields to the event loop as it
// goes (app/duplicates.ts), so searches are answered meanwhile.
import { findDuplicates, type DuplicateGroup } from '../app/duplicates.js';
import type { IndexSource } from '../app/index-source.js';
import type { Library } from '../app/library.js';

/** A cached answer is recomputed after this long even if the counts look the same (a file re-embedded in place). */
const MAX_AGE_MS = 5 * 60_000;
const MAX_ENTRIES = 8;

export class DuplicatesCache {
  private readonly answers = new Map<string, { at: number; groups: Promise<DuplicateGroup[]> }>();

  constructor(
    private readonly library: Library,
    private readonly index: IndexSource,
  ) {}

  async groups(threshold: number): Promise<DuplicateGroup[]> {
    const index = await this.index.current();
    const counts = await this.library.catalog.images.counts();
    const key = JSON.stringify([threshold, counts, index?.manifest.builtAt ?? null]);
    const cached = this.answers.get(key);
    if (cached && Date.now() - cached.at < MAX_AGE_MS) return cached.groups;
    const groups = findDuplicates(this.library.catalog, index, { threshold });
    this.answers.set(key, { at: Date.now(), groups });
    groups.catch(() => this.answers.delete(key));
    while (this.answers.size > MAX_ENTRIES) this.answers.delete(this.answers.keys().next().value!);
    return groups;
  }
}
