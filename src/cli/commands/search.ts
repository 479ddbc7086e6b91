// search-text, search-image and duplicates: the command-line faces of the search service.
import type { Command } from 'commander';
import { findDuplicates } from '../../app/duplicates.js';
import { parseImageRef } from '../../app/image-query.js';
import { IndexSource } from '../../app/index-source.js';
import { CLI_TERM_NAMES, parseExtraTerms, type ExtraTerms, type WeightedTerm } from '../../app/query-terms.js';
import { SearchService } from '../../app/search-service.js';
import { CLI_FILTER_NAMES, parseFilter, type RawFilter } from '../../search/search-filter.js';
import { contextOf, withLibrary, type Context } from '../context.js';
import { count, duplicatesJson, duplicatesText, searchJson, searchSummary, searchTable } from '../output.js';
import type { SortOrder } from '../../app/ranking.js';

interface SearchOptions extends ExtraTerms, RawFilter {
  n: number;
  json?: boolean;
  threshold?: number;
  all?: boolean;
  sort: SortOrder;
}

export async function searchText(query: string, _options: unknown, cmd: Command): Promise<void> {
  if (query.trim() === '') throw new Error('the query is empty: say what to look for, e.g. picsift search-text "sky at sunset"');
  await search(contextOf<SearchOptions>(cmd), query, { source: { text: query }, weight: 1 });
}

export async function searchImage(pathOrId: string, _options: unknown, cmd: Command): Promise<void> {
  const image = parseImageRef(pathOrId, 'search-image');
  // A catalogued image is never its own result; a file is not in the library (or is, as a copy: then it stays).
  await search(contextOf<SearchOptions>(cmd), pathOrId, { source: { image }, weight: 1 }, 'id' in image ? image.id : undefined);
}

/**
 * Shared by search-text and search-image: validates everything before opening
 * anything, builds the combined query, ranks with the filter and cut-off.
 */
async function search(context: Context<SearchOptions>, label: string, base: WeightedTerm, exclude?: number): Promise<void> {
  const { options, report } = context;
  const filter = parseFilter(options, CLI_FILTER_NAMES);
  const terms = [base, ...parseExtraTerms(options, CLI_TERM_NAMES)];
  await withLibrary(context, { readOnly: true, interactive: true }, async (library, loader) => {
    const service = new SearchService(library.catalog, new IndexSource(library.paths.index, library.catalog, report.warn), loader, options);
    try {
      const all = Boolean(options.all);
      const ranking = await service.search(terms, { k: options.n, threshold: options.threshold, filter, exclude, all, sort: options.sort });
      if (ranking.empty) report.warn(`library ${library.paths.root} has no embedded images yet: run \`picsift index DIR\` first`);
      if (ranking.notice) report.warn(ranking.notice.message);
      process.stdout.write(
        `${options.json ? searchJson(label, ranking, options.sort) : searchTable(ranking, { all, sort: options.sort })}\n`,
      );
      if (!options.json && !ranking.empty) report.say(searchSummary(ranking, options.n, all));
    } finally {
      await service.close();
    }
  });
}

export async function duplicates(_options: unknown, cmd: Command): Promise<void> {
  const context = contextOf<{ json?: boolean; threshold: number }>(cmd);
  const { options, report } = context;
  await withLibrary(context, { readOnly: true }, async (library) => {
    const index = await new IndexSource(library.paths.index, library.catalog, report.warn).current();
    const behind = (await library.catalog.images.counts()).embedded - (index?.manifest.count ?? 0);
    if (behind > 1000) report.warn(`the index lacks ${behind} vectors: run picsift build-index first, or this takes long`);
    const groups = await findDuplicates(library.catalog, index, { threshold: options.threshold });
    process.stdout.write(`${options.json ? duplicatesJson(options.threshold, groups) : duplicatesText(groups)}\n`);
    report.say(`${count(groups.length, 'group')} of duplicates (near: cosine ≥ ${options.threshold})`);
  });
}
