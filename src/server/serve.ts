// `picsift serve`: checks the bind policy, opens the library and loads the model
// once, then listens. Everything slow happens before the first request.
import type { DeviceChoice } from '../model/execution-provider.js';
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { BackgroundWatch, type BackgroundState } from '../app/background-watch.js';
import { IndexRefresher, type IndexRefresherOptions, type RefresherState } from '../app/index-refresher.js';
import { IndexSource } from '../app/index-source.js';
import type { WatchConfig } from '../app/watch-service.js';
import { openLibrary, type Library } from '../app/library.js';
import type { ModelRequest } from '../app/model-choice.js';
import { ModelLoader } from '../app/model-loader.js';
import { SearchService } from '../app/search-service.js';
import { libraryStatus } from '../app/status.js';
import { buildApp, type LogLevel, type RateLimits } from './app.js';
import { checkBindPolicy } from './auth.js';

export interface ServeOptions extends ModelRequest {
  library: string;
  /** A PostgreSQL URL: the shared catalogue (this machine keeps its own index in the library folder). */
  catalog?: string;
  host: string;
  port: number;
  token?: string;
  rateLimits?: Partial<RateLimits>;
  /** Request and failure log on stderr (pino, Fastify's logger); default silent (the CLI passes info). */
  logLevel?: LogLevel;
  /** Where this server runs the text model (resolveDevice's choice); default the CPU. */
  device?: DeviceChoice;
  /** --watch: keep the library current in a background process (watch-child.ts). */
  watch?: WatchConfig & { nice?: number };
  /**
   * How this server keeps its ANN index current (IndexRefresher; the watcher does it
   * when there is one); false: not at all. Default: poll every 5 s.
   */
  indexRefresh?: Pick<IndexRefresherOptions, 'pollMs' | 'minTail' | 'maxLagMs'> | false;
}

/** What runs behind the server: the watcher (serve --watch; its error says why it is not running) and the index refresher. */
export interface BackgroundStatus {
  watch: BackgroundState['watch'];
  index: RefresherState | null;
}

/** Where start-up messages go (the CLI's reporter). */
export interface ServeReporter {
  say(line: string): void;
  warn(line: string): void;
}

export interface RunningServer {
  app: FastifyInstance;
  library: Library;
  search: SearchService;
  /** Base URL, e.g. http://127.0.0.1:7878 (no trailing slash). */
  url: string;
  background(): BackgroundStatus;
  /** The watcher's process id (serve --watch), for tests that kill it. */
  watcherPid(): number | undefined;
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
 * ONNX run, the catalogue's statements, the index pages, validation and
 * serialisation are all slower the first time (measured: the first query took
 * ~3× the median with only the model preloaded).
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

const silent: ServeReporter = { say: () => {}, warn: () => {} };

export async function startServer(options: ServeOptions, report: ServeReporter = silent): Promise<RunningServer> {
  checkBindPolicy(options.host, options.token); // before anything slow, so a refusal is immediate
  const started = performance.now();
  const library = await openLibrary({ library: options.library, catalog: options.catalog }, { onWait: report.warn });
  const index = new IndexSource(library.paths.index, library.catalog, report.warn);
  const search = new SearchService(library.catalog, index, new ModelLoader(library.paths, report.say, { device: options.device }), options);
  let app: FastifyInstance;
  let watcher: BackgroundWatch | null = null;
  let refresher: IndexRefresher | null = null;
  const background = (): BackgroundStatus => {
    const b = watcher?.state();
    const watch = b?.watch ? { ...b.watch, error: b.error ?? b.watch.error } : null;
    return { watch, index: b?.index ?? refresher?.state() ?? null };
  };
  try {
    // A new library without --model would download the default model just to
    // answer "no photos yet"; wait until the library has vectors instead.
    await search.spec(); // refuses a --model that is not the library's
    if ((await library.catalog.models.model()) || options.model !== undefined) await search.warmUp();
    app = await buildApp({
      library,
      search,
      token: options.token,
      rateLimits: options.rateLimits,
      logLevel: options.logLevel,
      background,
    });
    await warmUp(app, options.token);
    if (options.watch) {
      // The watcher holds the library (SQLite: its one writer) and extends the index itself.
      const { nice, ...watch } = options.watch;
      watcher = await BackgroundWatch.start({
        library: library.paths.root,
        catalog: options.catalog,
        watch: {
          ...watch,
          model: watch.model ?? options.model,
          dtype: watch.dtype ?? options.dtype,
          device: watch.device ?? options.device,
        },
        nice: nice ?? 10,
        index: options.indexRefresh || undefined,
        say: report.say,
        warn: report.warn,
      });
    } else if (options.indexRefresh !== false) {
      refresher = new IndexRefresher(library.catalog, {
        target: { url: options.catalog, libraryDir: library.paths.root },
        indexDir: library.paths.index,
        ...options.indexRefresh,
        onError: report.warn,
      }).start();
    }
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await watcher?.stop();
    await refresher?.stop();
    await search.close();
    await library.catalog.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${urlHost(options.host)}:${port}`;
  const status = await libraryStatus(library.catalog, library.paths);
  report.say(
    `serving library ${library.paths.root}${options.catalog ? ` (catalogue ${library.catalog.location})` : ''} ` +
      `(${status.images} images, ${status.embedded} embedded, model ${status.model ?? 'none yet'}), ` +
      `ready in ${Math.round(performance.now() - started)} ms`,
  );
  for (const host of reachableHosts(options.host)) {
    report.say(`  open http://${urlHost(host)}:${port}/${options.token ? `?token=${options.token}` : ''}`);
  }
  return {
    app,
    library,
    search,
    url,
    background,
    watcherPid: () => watcher?.pid,
    close: async () => {
      // The watcher first: it commits its batch in flight while the server still answers.
      await watcher?.stop();
      await refresher?.stop();
      await app.close();
      await search.close();
      await library.catalog.close();
    },
  };
}
