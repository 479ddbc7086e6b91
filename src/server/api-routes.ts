// The JSON API: parse (Fastify validates against schemas.ts), call the core through
// SearchService, format. Search results have the shape of `search-text --json`
// plus a thumbnail URL.
import { basename } from 'node:path';
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SearchResult } from '../app/search-results.js';
import { HttpError, notFound } from './errors.js';
import { matchesEtag, mimeType, openServableImage, servableImage, showsInline } from './image-files.js';
import {
  duplicatesQuery,
  duplicatesResponse,
  imageIdParams,
  imageResponse,
  searchQuery,
  searchResponse,
  similarQuery,
  similarResponse,
  statusResponse,
  thumbnailQuery,
} from './schemas.js';
import type { SearchService } from '../app/search-service.js';
import type { Library } from '../app/library.js';
import { libraryStatus } from '../app/status.js';
import { parseExtraTerms, type ExtraTerms, type TermNames } from '../app/query-terms.js';
import type { DuplicatesCache } from './duplicates-cache.js';
import type { ImageRef } from '../app/image-query.js';
import { API_FILTER_NAMES, FilterError, parseFilter, type RawFilter, type SearchFilter } from '../search/search-filter.js';
import { QueryError } from '../search/query-vector.js';
import type { SortOrder } from '../app/ranking.js';
import type { Ranking } from '../app/search-service.js';

type Refinements = RawFilter & { threshold?: number; all?: '1' | '0' | 'true' | 'false'; sort: SortOrder };

const isOn = (flag: Refinements['all']): boolean => flag === '1' || flag === 'true';

const API_TERM_NAMES: TermNames = { add: 'add', subtract: 'subtract', addImage: 'addImage', subtractImage: 'subtractImage' };

/** Over the network an image term is a catalogue id only: the server never opens a path from a request. */
function catalogueIdOnly(value: string, name: string): ImageRef {
  if (!/^[1-9][0-9]{0,14}$/.test(value.trim())) throw new QueryError(`${name} must be a catalogue image id, not "${value}"`);
  return { id: Number(value.trim()) };
}

/** Mistakes in the query or the filter are the client's: 400 with the message that names the parameter. */
async function asClientErrors<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof FilterError || err instanceof QueryError) throw new HttpError(400, err.message);
    throw err;
  }
}

function filterOf(query: RawFilter): Promise<SearchFilter | null> {
  return asClientErrors(() => parseFilter(query, API_FILTER_NAMES));
}
import type { ThumbnailSize, ThumbnailStore } from './thumbnails.js';

/** Browsers may reuse an image for an hour without asking; after that a 304 costs one stat. */
const IMAGE_CACHE_CONTROL = 'private, max-age=3600';

export interface ApiLimits {
  /** Searches per minute per client: each one runs the text encoder. */
  searchesPerMinute: number;
  /** Duplicate listings per minute per client: each walks the library (or waits for a walk). */
  duplicatesPerMinute: number;
}

const thumbnailUrl = (id: number): string => `/api/images/${id}/thumbnail`;

const round = (score: number): number => Math.round(score * 1e6) / 1e6;

/** Scores rounded as `search-text --json` rounds them. */
function withThumbnails(results: SearchResult[]) {
  return results.map((r) => ({ ...r, score: round(r.score), thumbnail: thumbnailUrl(r.id) }));
}

/** A ranking as the API answers it (the shape of `search-text --json`, plus thumbnails). */
function rankingBody(ranking: Ranking, sort: SortOrder) {
  const { model, matches, weaker, notice } = ranking;
  return {
    model,
    cutoff: { ...ranking.cutoff, score: round(ranking.cutoff.score) },
    matches,
    weaker,
    sort,
    ...(notice ? { notice } : {}),
    results: withThumbnails(ranking.results),
  };
}

/** A file name for Content-Disposition that survives any characters in the photo's name. */
function contentDisposition(kind: 'inline' | 'attachment', path: string): string {
  const name = basename(path);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function notModified(reply: FastifyReply, etag: string): FastifyReply {
  return reply.code(304).header('etag', etag).header('cache-control', IMAGE_CACHE_CONTROL).send();
}

export function registerApiRoutes(
  app: FastifyInstance,
  deps: {
    library: Library;
    search: SearchService;
    thumbnails: ThumbnailStore;
    duplicates: DuplicatesCache;
    limits: ApiLimits;
    background?: () => object;
    openApi: () => object;
  },
): void {
  const { search: service, thumbnails, library } = deps;
  // Both kinds of search share one limiter, so one counter per client (a per-route
  // config would count each route apart). It replaces the global limit on these
  // routes (the plugin runs one limiter per request) and, like it, runs in
  // onRequest, before the token check, so token guessing is limited here too.
  const searchLimit = {
    onRequest: app.rateLimit({ max: deps.limits.searchesPerMinute, timeWindow: 60_000 }),
    config: { rateLimit: false as const },
  };

  app.get<{ Querystring: { q: string; k: number } & ExtraTerms & Refinements }>(
    '/api/search',
    {
      schema: { querystring: searchQuery, response: { 200: searchResponse } },
      onRequest: searchLimit.onRequest,
      config: { ...searchLimit.config, openapi: { summary: 'photos that best match a text, best first' } },
    },
    async (request) => {
      const { q, k, threshold, all, sort } = request.query;
      const filter = await filterOf(request.query);
      const ranking = await asClientErrors(async () => {
        const terms = [{ source: { text: q }, weight: 1 }, ...parseExtraTerms(request.query, API_TERM_NAMES, catalogueIdOnly)];
        return service.search(terms, { k, threshold, filter, all: isOn(all), sort });
      });
      return { query: q, ...rankingBody(ranking, sort) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { k: number } & Refinements }>(
    '/api/similar/:id',
    {
      schema: { params: imageIdParams, querystring: similarQuery, response: { 200: similarResponse } },
      onRequest: searchLimit.onRequest,
      config: { ...searchLimit.config, openapi: { summary: "the photos nearest to a catalogued photo's own vector, without itself" } },
    },
    async (request) => {
      const id = Number(request.params.id);
      const record = await service.imageRecord(id);
      if (!record) throw notFound(`image ${id}`);
      const filter = await filterOf(request.query);
      const { k, threshold, all, sort } = request.query;
      const ranking = await service.similar(id, { k, threshold, filter, all: isOn(all), sort });
      if (!ranking) {
        throw new HttpError(
          409,
          record.status === 'failed'
            ? `image ${id} could not be embedded (${record.error ?? 'unknown reason'}), so it has no neighbours`
            : `image ${id} is not embedded yet; its neighbours can be found once it is`,
        );
      }
      return { id, ...rankingBody(ranking, sort) };
    },
  );

  app.get<{ Querystring: { threshold: number } }>(
    '/api/duplicates',
    {
      schema: { querystring: duplicatesQuery, response: { 200: duplicatesResponse } },
      // A walk over the whole library: limited on its own, far below searches.
      onRequest: app.rateLimit({ max: deps.limits.duplicatesPerMinute, timeWindow: 60_000 }),
      config: {
        rateLimit: false as const,
        openapi: { summary: 'groups of identical files and near-duplicates (resized or re-encoded copies)' },
      },
    },
    async (request) => {
      const { threshold } = request.query;
      const groups = await deps.duplicates.groups(threshold);
      return {
        threshold,
        groups: groups.map((g) => ({ kind: g.kind, images: g.images.map((i) => ({ ...i, thumbnail: thumbnailUrl(i.id) })) })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/images/:id',
    {
      schema: { params: imageIdParams, response: { 200: imageResponse } },
      config: { openapi: { summary: 'what the catalogue and the EXIF data say about a photo' } },
    },
    async (request) => {
      const id = Number(request.params.id);
      const record = await service.imageRecord(id);
      if (!record) throw notFound(`image ${id}`);
      // What the catalogue knows (size after EXIF orientation, EXIF facts stored at
      // embed time); the file is only checked to be there and still an image.
      let available = true;
      try {
        await servableImage(service, id);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        available = false;
      }
      const { takenAt, takenOffset, cameraMake, cameraModel } = record.exif;
      return {
        id,
        path: record.path,
        size: record.size,
        format: record.format,
        width: record.width,
        height: record.height,
        status: record.status,
        error: record.error,
        modified: new Date(record.mtimeMs).toISOString(),
        dateTaken: takenAt ? `${takenAt}${takenOffset ?? ''}` : null,
        cameraMake,
        cameraModel,
        available,
        thumbnail: thumbnailUrl(id),
        file: `/api/images/${id}/file`,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { size: ThumbnailSize } }>(
    '/api/images/:id/thumbnail',
    {
      schema: { params: imageIdParams, querystring: thumbnailQuery },
      config: { openapi: { summary: 'a JPEG thumbnail, EXIF-oriented, cached (ETag)', produces: 'image/jpeg' } },
    },
    async (request, reply) => {
      const image = await servableImage(service, Number(request.params.id));
      const etag = thumbnails.etag(image, request.query.size);
      if (matchesEtag(request.headers['if-none-match'], etag)) return notModified(reply, etag);
      const path = await thumbnails.path(image, request.query.size);
      return reply.type('image/jpeg').header('etag', etag).header('cache-control', IMAGE_CACHE_CONTROL).send(createReadStream(path));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/images/:id/file',
    {
      schema: { params: imageIdParams },
      config: { openapi: { summary: 'the original file (formats browsers cannot show come as a download)', produces: 'image/*' } },
    },
    async (request, reply) => {
      const image = await openServableImage(service, Number(request.params.id));
      const etag = `"file-${image.fingerprint}"`;
      if (matchesEtag(request.headers['if-none-match'], etag)) {
        await image.handle.close();
        return notModified(reply, etag);
      }
      const disposition = showsInline(image.format) ? 'inline' : 'attachment';
      return reply
        .type(mimeType(image.format))
        .header('content-length', image.info.size)
        .header('content-disposition', contentDisposition(disposition, image.record.path))
        .header('etag', etag)
        .header('cache-control', IMAGE_CACHE_CONTROL)
        .send(image.handle.createReadStream({ start: 0, end: Math.max(0, image.info.size - 1) }));
    },
  );

  app.get(
    '/api/status',
    {
      schema: { response: { 200: statusResponse } },
      config: {
        openapi: { summary: 'counts of images, vectors and index entries (as `status --json`), and what runs in the background' },
      },
    },
    async () => ({ ...(await libraryStatus(library.catalog, library.paths)), ...deps.background?.() }),
  );

  app.get('/api/openapi.json', { config: { openapi: { summary: 'this document' } } }, async () => deps.openApi());
}
