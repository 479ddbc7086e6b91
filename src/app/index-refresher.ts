// Keeps this machine's ANN index current by itself, for a running `serve` (with or
// without --watch, SQLite or PostgreSQL, one server or several on one catalogue)
// and for `watch`. Search is complete without it (it scans the vectors the index
// lacks exactly), so this only keeps searches fast: it looks every few seconds at
// how many vectors the index lacks (VectorStore.tailCount: a bounded count, cheap
// however large the library) and, when enough have gathered or a few have waited
// long enough, extends the index in a worker thread (index-build-worker.ts) that
// opens the catalogue itself. The server sees the new manifest through IndexSource.
//
// Why polling and not PostgreSQL's LISTEN/NOTIFY: notifications are lost while a
// connection is down, so a poll is needed behind them anyway; SQLite has no
// notifications between processes; a freshness of seconds is all an index needs,
// since searches are complete without it; and the poll costs one indexed count of
// at most `minTail` rows, every `pollMs`, per server.
import { Worker } from 'node:worker_threads';
import type { CatalogTarget } from '../catalog/open-catalog.js';
import type { Catalog } from '../catalog/ports.js';
import { builtFrom, readManifest } from '../index/ann-index.js';
import type { BuildReply, BuildRequest } from './index-build-worker.js';

export interface IndexRefresherOptions {
  /** How the build thread opens the catalogue (the URL, or the library folder for SQLite). */
  target: CatalogTarget;
  indexDir: string;
  /** How often the tail is looked at; default 5 s. */
  pollMs?: number;
  /** Extend the index once it lacks this many vectors; default 2,048 (fewer are scanned exactly in about a millisecond). */
  minTail?: number;
  /** ... or once a smaller tail has waited this long; default 60 s. */
  maxLagMs?: number;
  /** Nice value added to the build thread; default 10. */
  nice?: number;
  onBuilt?: (result: Extract<BuildReply, { kind: 'built' }>) => void;
  onError?: (message: string) => void;
}

export interface RefresherState {
  building: boolean;
  /** Vectors the index lacks, as last counted (at most minTail). */
  tail: number;
  lastBuild: { at: string; added: number; count: number; seconds: number } | null;
  lastError: string | null;
}

export class IndexRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private worker: Worker | null = null;
  private lagSince: number | null = null;
  private stopped = false;
  private readonly current: RefresherState = { building: false, tail: 0, lastBuild: null, lastError: null };

  constructor(
    private readonly catalog: Pick<Catalog, 'vectors' | 'models' | 'identity'>,
    private readonly options: IndexRefresherOptions,
  ) {}

  start(): this {
    this.schedule(0);
    return this;
  }

  state(): RefresherState {
    return { ...this.current, building: this.worker !== null };
  }

  /** Looks now (e.g. after an embedding batch), unless a look or a build is under way. */
  poke(): void {
    if (this.stopped || this.running) return;
    this.schedule(0);
  }

  /** Stops polling; a build in progress is abandoned (a build switches the index atomically, so nothing is half done). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.worker?.terminate();
    await this.running?.catch(() => {});
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) return this.schedule(this.pollMs);
      this.running = this.tick()
        .catch((err: unknown) => this.fail((err as Error).message))
        .finally(() => {
          this.running = null;
          this.schedule(this.pollMs);
        });
    }, ms);
    this.timer.unref();
  }

  private get pollMs(): number {
    return this.options.pollMs ?? 5000;
  }

  private async tick(): Promise<void> {
    const model = await this.catalog.models.model();
    if (!model) return;
    const manifest = readManifest(this.options.indexDir);
    const identity = { catalogId: await this.catalog.identity(), model };
    const upTo = manifest && builtFrom(manifest, identity) ? manifest.upTo : 0;
    const minTail = this.options.minTail ?? 2048;
    const tail = await this.catalog.vectors.tailCount(upTo, minTail);
    this.current.tail = tail;
    if (tail === 0) {
      this.lagSince = null;
      return;
    }
    this.lagSince ??= Date.now();
    if (tail < minTail && Date.now() - this.lagSince < (this.options.maxLagMs ?? 60_000)) return;
    const reply = await this.build();
    if (reply.kind === 'built') {
      this.lagSince = null;
      this.current.tail = 0;
      this.current.lastError = null;
      this.current.lastBuild = { at: new Date().toISOString(), added: reply.added, count: reply.count, seconds: reply.seconds };
      this.options.onBuilt?.(reply);
    } else if (reply.kind === 'failed') {
      this.fail(reply.message);
    }
    // 'busy': another process is building this index; look again at the next poll.
  }

  private fail(message: string): void {
    if (this.current.lastError !== message) this.options.onError?.(`could not refresh the ANN index: ${message}`);
    this.current.lastError = message;
  }

  private build(): Promise<BuildReply> {
    const request: BuildRequest = { target: this.options.target, indexDir: this.options.indexDir, nice: this.options.nice ?? 10 };
    return new Promise<BuildReply>((resolve) => {
      const worker = new Worker(new URL('./index-build-worker.js', import.meta.url), { workerData: request });
      this.worker = worker;
      let reply: BuildReply | null = null;
      worker.once('message', (m: BuildReply) => (reply = m));
      worker.once('error', (err) => (reply ??= { kind: 'failed', message: err.message }));
      worker.once('exit', (code) => {
        this.worker = null;
        resolve(reply ?? { kind: 'failed', message: this.stopped ? 'stopped' : `index build thread exited (code ${code})` });
      });
    });
  }
}
