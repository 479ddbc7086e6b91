// `picsift serve`: checks the bind policy, loads the library and the model once,
// then listens. Everything slow happens before the first request.
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ModelRequest } from '../app/model-choice.js';
import { buildApp, type RateLimits } from './app.js';
import { checkBindPolicy } from './auth.js';
import { SearchService } from './search-service.js';

export interface ServeOptions extends ModelRequest {
  library: string;
  host: string;
  port: number;
  token?: string;
  rateLimits?: RateLimits;
}

export interface RunningServer {
  app: FastifyInstance;
  service: SearchService;
  /** Base URL, e.g. http://127.0.0.1:7878 (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** Addresses a person can type for a wildcard bind (0.0.0.0 / ::), else the bound address. */
function reachableHosts(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const found = Object.values(networkInterfaces())
    .flat()
    // Link-local IPv6 addresses need a zone id that a URL cannot carry portably.
    .filter((a) => a && !a.internal && (host === '::' || a.family === 'IPv4') && !a.address.startsWith('fe80:'))
    .map((a) => a!.address);
  return ['127.0.0.1', ...found];
}

/**
 * One search through the whole request path before the first user: the first
 * ONNX run, the SQLite statements, the index pages, validation and serialisation
 * are all slower the first time (measured: the first query took ~3× the median
 * with only the model preloaded).
 */
async function warmUp(app: FastifyInstance, token: string | undefined): Promise<void> {
  const response = await app.inject({
    method: 'GET',
    url: '/api/search?q=a%20photo&k=20',
    // An address no client has, so the warm-up uses nobody's rate-limit budget.
    remoteAddress: '0.0.0.0',
    headers: { host: 'localhost', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  if (response.statusCode !== 200) throw new Error(`warm-up search failed: ${response.statusCode} ${response.body}`);
}

export async function startServer(options: ServeOptions, say: (line: string) => void = () => {}): Promise<RunningServer> {
  checkBindPolicy(options.host, options.token); // before anything slow, so a refusal is immediate
  const started = performance.now();
  const service = await SearchService.open(options.library, options, say);
  let app: FastifyInstance;
  try {
    app = await buildApp({ service, token: options.token, rateLimits: options.rateLimits });
    await warmUp(app, options.token);
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await service.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${urlHost(options.host)}:${port}`;
  const status = service.status();
  say(
    `serving library ${service.paths.root} (${status.images} images, ${status.embedded} embedded, ` +
      `model ${status.model ?? 'none yet'}), ready in ${Math.round(performance.now() - started)} ms`,
  );
  for (const host of reachableHosts(options.host)) {
    say(`  open http://${urlHost(host)}:${port}/${options.token ? `?token=${options.token}` : ''}`);
  }
  return {
    app,
    service,
    url,
    close: async () => {
      await app.close();
      await service.close();
    },
  };
}
