// Assembles the HTTP server: rate limits, access control, security headers, the
// page, the JSON API and JSON errors. No I/O happens here beyond reading the page's
// files; the caller owns the SearchService (and so the model and the catalogue).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { repoRoot } from '../util/repo-root.js';
import { registerApiRoutes } from './api-routes.js';
import { installAccessControl } from './auth.js';
import { HttpError, installErrorHandler } from './errors.js';
import { collectOpenApiRoutes, openApiDocument } from './openapi.js';
import type { Library } from '../app/library.js';
import type { SearchService } from '../app/search-service.js';
import { DuplicatesCache } from './duplicates-cache.js';
import { registerStaticAssets } from './static-assets.js';
import { ThumbnailStore } from './thumbnails.js';

export interface RateLimits {
  /** Requests per minute per client address, all routes together. A page of results is ~60 thumbnails. */
  requestsPerMinute: number;
  /** Searches ("search" and "similar") per minute per client address. */
  searchesPerMinute: number;
  /** Duplicate listings per minute per client address: each walks the whole library. */
  duplicatesPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { requestsPerMinute: 3000, searchesPerMinute: 300, duplicatesPerMinute: 10 };

export type LogLevel = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface AppOptions {
  library: Library;
  search: SearchService;
  /** When set, every request must carry it (see auth.ts). */
  token?: string;
  rateLimits?: Partial<RateLimits>;
  /** Fastify's logger (pino): requests at info, failures at error. Default silent. */
  logLevel?: LogLevel;
  /** Where the log goes; default stderr. */
  logStream?: NodeJS.WritableStream;
  /** The background jobs' state (the watcher, the index refresher), for /api/status. */
  background?: () => object;
}

/** Same-origin everything, no inline script or style, no framing, no referrer (it could carry ?token=). */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
  const app = Fastify({
    logger: { level: options.logLevel ?? 'silent', stream: options.logStream ?? process.stderr },
    // The API reads no request bodies.
    bodyLimit: 1024,
    requestTimeout: 120_000,
    return503OnClosing: true,
    // A URL that cannot be decoded (e.g. "%c0%ae") names nothing we serve: the same 404 as any other unknown path.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as FastifyReply).code(404).type('application/json; charset=utf-8').headers(SECURITY_HEADERS).send({ error: 'not found' });
    },
    // Malformed HTTP never reaches Fastify's router; answer it in the API's error shape too.
    clientErrorHandler: (_error, socket) => {
      const body = '{"error":"bad request"}';
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    },
  });
  installErrorHandler(app);

  // Rate limiting runs in onRequest, before access control (preValidation), so
  // guessing the token is rate limited too.
  await app.register(rateLimit, { global: true, max: limits.requestsPerMinute, timeWindow: 60_000 });
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (_request, reply) => {
    void reply.code(404).send({ error: 'not found' });
  });
  installAccessControl(app, options.token);
  // The schemas' validator turns "Infinity" into a number that passes minimum and
  // maximum (k=Infinity returned the whole library): refuse non-finite numbers here.
  app.addHook('preHandler', async (request) => {
    for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new HttpError(400, `${name} must be a finite number`);
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    void reply.headers(SECURITY_HEADERS);
  });

  const described = collectOpenApiRoutes(app);
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  registerApiRoutes(app, {
    library: options.library,
    search: options.search,
    thumbnails: new ThumbnailStore(options.library.paths.thumbnails),
    duplicates: new DuplicatesCache(options.library, options.search.index),
    limits,
    background: options.background,
    openApi: () => openApiDocument(described, { tokenRequired: options.token !== undefined, version }),
  });
  registerStaticAssets(app);
  return app;
}
