// JSON schemas of the API: Fastify validates requests and serialises responses
// with them, and the OpenAPI document is built from the same objects, so the
// document cannot drift from what the server does.
import { DEFAULT_DUPLICATE_THRESHOLD } from '../app/duplicates.js';
import { DEFAULT_RESULTS, MAX_QUERY_CHARS, MAX_RESULTS } from '../app/search-limits.js';
import { THUMBNAIL_SIZES } from './thumbnails.js';
import { SORT_ORDERS } from '../app/ranking.js';

const count = { type: 'integer', minimum: 0 } as const;
const nullableString = { type: ['string', 'null'] } as const;
const nullableCount = { type: ['integer', 'null'], minimum: 0 } as const;

const resultsParam = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_RESULTS,
  default: DEFAULT_RESULTS,
  description: 'number of results',
} as const;

export const imageIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: {
    // A plain decimal number only: anything else ("..", "%2e%2e", "1e3", " 1") is no catalogue id.
    id: { type: 'string', pattern: '^[1-9][0-9]{0,14}$', description: 'catalogue id of an image' },
  },
} as const;

const filterText = (description: string) => ({ type: 'string', maxLength: 4096, description }) as const;

/** Cut-off, order and filters, shared by every search; the filter values are validated by parseFilter. */
const refineParams = {
  threshold: {
    type: 'number',
    minimum: -1,
    maximum: 1,
    description: 'the cut-off: a fixed cosine instead of the one adapted to each query',
  },
  all: {
    type: 'string',
    enum: ['1', '0', 'true', 'false'],
    description: 'all=1: also return the results below the cut-off (each says whether it is a match)',
  },
  sort: {
    type: 'string',
    enum: SORT_ORDERS,
    default: 'score',
    description: 'order of the matches: score (best first), or date taken (newest or oldest first)',
  },
  path: filterText('only photos under this folder, or whose absolute path matches this glob (* also crosses /)'),
  after: filterText('only photos taken on or after this local date/time (EXIF, else file time), e.g. 2021-06-05'),
  before: filterText('only photos taken before this local date/time'),
  camera: filterText('only photos whose camera make or model contains this text (any case)'),
  minWidth: filterText('only photos at least this many pixels wide'),
  minHeight: filterText('only photos at least this many pixels tall'),
  format: filterText('only these formats, comma-separated, e.g. jpg,png'),
} as const;

/** Repeatable "[weight:]term" parameters (?add=sunset&add=2:sea). */
const termList = (description: string) =>
  ({ type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: MAX_QUERY_CHARS }, description }) as const;

export const searchQuery = {
  type: 'object',
  required: ['q'],
  properties: {
    q: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_QUERY_CHARS,
      pattern: '\\S',
      description: 'what to look for, e.g. "sky at sunset"',
    },
    k: resultsParam,
    add: termList('also look for this text, "[weight:]text"'),
    subtract: termList('steer away from this text, "[weight:]text"'),
    addImage: termList('also look like this catalogued image, "[weight:]id"'),
    subtractImage: termList('steer away from this catalogued image, "[weight:]id"'),
    ...refineParams,
  },
} as const;

export const similarQuery = { type: 'object', properties: { k: resultsParam, ...refineParams } } as const;

export const thumbnailQuery = {
  type: 'object',
  properties: {
    size: {
      type: 'string',
      enum: THUMBNAIL_SIZES,
      default: 'small',
      description: 'small: 400 px on the long edge (grid); large: 1600 px (viewer)',
    },
  },
} as const;

const searchResult = {
  type: 'object',
  required: ['rank', 'id', 'path', 'score', 'date', 'match', 'thumbnail'],
  properties: {
    rank: { type: 'integer', minimum: 1, description: 'place in the ranking by score, whatever the order shown' },
    id: { type: 'integer' },
    path: { type: 'string' },
    score: { type: 'number', description: 'cosine similarity' },
    date: { type: 'string', description: 'date taken, local wall-clock time (EXIF, else the file time), e.g. 2021-06-05T14:03:09' },
    match: { type: 'boolean', description: 'at or above the cut-off' },
    thumbnail: { type: 'string', description: 'URL of the thumbnail, relative to the server' },
  },
} as const;

/** What every search answers besides its results: the cut-off and how many matched. */
const rankingProperties = {
  model: { type: 'string' },
  cutoff: {
    type: 'object',
    required: ['score', 'source'],
    description: 'results scoring at or above `score` are matches',
    properties: {
      score: { type: 'number' },
      source: {
        type: 'string',
        enum: ['adaptive', 'threshold', 'uncalibrated'],
        description:
          'adaptive: calibrated on this query over the library; threshold: given; uncalibrated: too few photos to tell, so all match',
      },
    },
  },
  matches: {
    type: 'integer',
    minimum: 0,
    description: 'matches among the results considered (the best k; the best 1000 when sorted by date)',
  },
  weaker: { type: 'integer', minimum: 0, description: 'results among the best k below the cut-off (returned only with all)' },
  sort: { type: 'string', enum: SORT_ORDERS },
  results: { type: 'array', items: searchResult },
} as const;

export const searchResponse = {
  type: 'object',
  required: ['query', 'model', 'cutoff', 'matches', 'weaker', 'sort', 'results'],
  properties: {
    query: { type: 'string' },
    ...rankingProperties,
    notice: {
      type: 'object',
      required: ['code', 'scripts', 'suggestedModel', 'message'],
      description: "present when the query is in a script the library's model was not trained on",
      properties: {
        code: { type: 'string', enum: ['unread-script'] },
        scripts: { type: 'array', items: { type: 'string' } },
        suggestedModel: { type: 'string' },
        message: { type: 'string' },
      },
    },
  },
} as const;

export const similarResponse = {
  type: 'object',
  required: ['id', 'model', 'cutoff', 'matches', 'weaker', 'sort', 'results'],
  properties: {
    id: { type: 'integer', description: 'the image whose neighbours these are (never among the results)' },
    ...rankingProperties,
  },
} as const;

const nullableNumber = { type: ['number', 'null'] } as const;

/** The watcher's state (serve --watch): see src/app/watch-service.ts's WatchState. */
const watchState = {
  type: ['object', 'null'],
  description: 'the background watcher (serve --watch); null without --watch',
  additionalProperties: true,
  properties: {
    state: { type: 'string', enum: ['starting', 'scanning', 'embedding', 'idle', 'stopping', 'stopped', 'failed'] },
    roots: { type: 'array', items: { type: 'string' }, description: 'folders watched' },
    watched: { type: 'array', items: { type: 'string' }, description: 'of those, the ones followed by file-system events now' },
    run: {
      type: ['object', 'null'],
      description: 'the current run of new photos, from the first pending one to an empty queue',
      properties: { total: count, done: count, failed: count, perSecond: { type: 'number' }, etaSeconds: nullableNumber },
    },
    settling: { ...count, description: 'files waiting for their size and mtime to settle' },
    computed: { ...count, description: 'images embedded by the model since the watcher started' },
    reused: { ...count, description: 'images that reused the vector of identical content (moved, renamed, copied)' },
    failed: count,
    removed: count,
    lastScan: { type: ['object', 'null'], additionalProperties: true },
    nextScanAt: nullableString,
    error: { ...nullableString, description: 'why the watcher stopped, if it did (it is started again)' },
    pid: { type: 'integer' },
  },
} as const;

/** The index refresher's state: see src/app/index-refresher.ts. */
const indexState = {
  type: ['object', 'null'],
  description: "this server's ANN index upkeep",
  additionalProperties: true,
  properties: {
    building: { type: 'boolean' },
    tail: { ...count, description: 'vectors the index lacks, as last counted (searched exactly meanwhile)' },
    lastBuild: { type: ['object', 'null'], additionalProperties: true },
    lastError: nullableString,
  },
} as const;

export const statusResponse = {
  type: 'object',
  required: ['images', 'embedded', 'pending', 'failed', 'indexed', 'model'],
  properties: {
    images: count,
    embedded: count,
    pending: count,
    failed: count,
    indexed: count,
    model: nullableString,
    dtype: nullableString,
    library: {
      type: 'string',
      description: 'the library folder this server uses (its index, thumbnails and, without --catalog, the catalogue)',
    },
    spaces: {
      type: 'array',
      description: "every model's vectors: the active one, one being filled by `picsift reembed`, retired ones kept until dropped",
      items: {
        type: 'object',
        required: ['model', 'dtype', 'dims', 'state', 'vectors', 'failed', 'missing'],
        properties: {
          model: { type: 'string' },
          dtype: { type: 'string' },
          dims: count,
          state: { type: 'string', enum: ['active', 'building', 'retired'] },
          vectors: { ...count, description: 'embedded images with a vector from this model' },
          failed: { ...count, description: 'images this model could not embed' },
          missing: { ...count, description: 'images still without a vector from it' },
        },
      },
    },
    watch: watchState,
    index: indexState,
  },
} as const;

export const imageResponse = {
  type: 'object',
  required: ['id', 'path', 'size', 'format', 'width', 'height', 'status', 'available'],
  properties: {
    id: { type: 'integer' },
    path: { type: 'string' },
    size: { type: 'integer', description: 'bytes' },
    format: { type: 'string', description: 'sniffed from the content: jpg, png, heic, …' },
    width: nullableCount,
    height: nullableCount,
    status: { type: 'string', enum: ['pending', 'embedded', 'failed'] },
    error: { ...nullableString, description: 'why embedding failed' },
    modified: { type: 'string', description: 'file modification time, ISO 8601' },
    dateTaken: { ...nullableString, description: 'EXIF DateTimeOriginal as local time, e.g. 2012-08-26T15:53:03' },
    cameraMake: nullableString,
    cameraModel: nullableString,
    available: { type: 'boolean', description: 'false when the file is gone or no longer an image' },
    thumbnail: { type: 'string' },
    file: { type: 'string' },
  },
} as const;

export const errorResponse = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' } },
} as const;

export const duplicatesQuery = {
  type: 'object',
  properties: {
    threshold: {
      type: 'number',
      minimum: -1,
      maximum: 1,
      default: DEFAULT_DUPLICATE_THRESHOLD,
      description: 'cosine at or above which two photos are near-duplicates',
    },
  },
} as const;

export const duplicatesResponse = {
  type: 'object',
  required: ['threshold', 'groups'],
  properties: {
    threshold: { type: 'number' },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kind', 'images'],
        properties: {
          kind: {
            type: 'string',
            enum: ['exact', 'near'],
            description: 'exact: identical files; near: resized, re-encoded or edited copies',
          },
          images: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'path', 'thumbnail'],
              properties: { id: { type: 'integer' }, path: { type: 'string' }, thumbnail: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;
