// `watch` (and `serve --watch`): keeps the library current by itself. Registers the
// folders (those given, or the library's recorded roots), then follows
// file-system events: a changed path is looked at once it has settled (settle.ts),
// registered (new and changed files), or marked removed (files and folders that
// are gone, unless they went with a mount); new images are embedded in batches
// by the usual pipeline, and the ANN index is extended in the background
// (index-refresher.ts). A full rescan every `rescanMs` catches what events miss
// (network file systems, events dropped under load, changes while picsift was
// stopped). Registration and embedding run side by side: the embed queue refuses
// to commit a vector for content that a re-scan has since found changed.
//
// SQLite: this process is the library's one writer for as long as it watches.
// PostgreSQL: it claims pending images through the shared queue like any worker,
// and takes the catalogue's scan lock for each registration.
import type { DeviceChoice } from '../model/execution-provider.js';
import { availableParallelism, hostname } from 'node:os';
import { lstat, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { Catalog, CatalogLock } from '../catalog/ports.js';
import { CatalogBusyError } from '../catalog/types.js';
import type { ImageEncoder } from '../model/encoders.js';
import { embedPending, type EmbedOptions } from '../pipeline/embed.js';
import { explainWatchFailure, watchFolder, type FolderWatch } from '../pipeline/fs-events.js';
import { pathMapper, type PathMapping } from '../pipeline/path-map.js';
import { registerFolders, type RegisterReport } from '../pipeline/register.js';
import type { IndexRefresher } from './index-refresher.js';
import type { LibraryPaths } from './library.js';
import { chooseModel, type ModelRequest } from './model-choice.js';
import type { ModelLoader } from './model-loader.js';
import { Settler } from './settle.js';

import { DEFAULT_RESCAN_MS, DEFAULT_SETTLE_MS } from './watch-defaults.js';

/** Threads for the background embedding: all cores but one, where there are more than two. */
export function defaultEmbedThreads(cores: number = availableParallelism()): number {
  return cores > 2 ? cores - 1 : Math.max(1, cores);
}

export interface WatchConfig extends ModelRequest {
  /** Folders (or files) to watch; none: the library's recorded roots. */
  dirs: readonly string[];
  rescanMs?: number;
  settleMs?: number;
  /** Inference threads and files decoded at once; default defaultEmbedThreads(). */
  embedThreads?: number;
  batchSize?: number;
  /** Where the model runs (resolveDevice's choice); default the CPU. */
  device?: DeviceChoice;
  maxPixels?: number;
  fileTimeoutMs?: number;
  pathMap?: readonly PathMapping[];
  /** How long to keep trying for the library's writer lock at start (a previous watcher finishing its batch); default 30 s. */
  lockWaitMs?: number;
  /** How often roots that cannot be watched (missing, unplugged) are looked for; default 10 s. */
  rootCheckMs?: number;
}

export interface WatchEvents {
  say?: (line: string) => void;
  warn?: (line: string) => void;
}

/** The background job as the API and the gallery show it. */
export interface WatchState {
  state: 'starting' | 'scanning' | 'embedding' | 'idle' | 'stopping' | 'stopped' | 'failed';
  roots: string[];
  /** Roots followed by file-system events right now (the rest only by rescans). */
  watched: string[];
  /** The current run of new photos: from the first pending image to an empty queue. */
  run: { total: number; done: number; failed: number; perSecond: number; etaSeconds: number | null } | null;
  /** Files waiting for their size and mtime to settle. */
  settling: number;
  /** Since this watcher started: images given a vector by the model, and by reusing the vector of identical content. */
  computed: number;
  reused: number;
  failed: number;
  removed: number;
  lastScan: { at: string; seconds: number; added: number; changed: number; removed: number } | null;
  nextScanAt: string | null;
  error: string | null;
  pid: number;
}

/** A signal that wakes one waiting loop. */
class Wake {
  private resolve: (() => void) | null = null;
  wait(ms?: number): Promise<void> {
    return new Promise((r) => {
      this.resolve = r;
      if (ms !== undefined) setTimeout(() => this.fire(), ms).unref();
    });
  }
  fire(): void {
    const r = this.resolve;
    this.resolve = null;
    r?.();
  }
}

export class WatchService {
  private readonly roots: string[] = [];
  private readonly watches = new Map<string, FolderWatch>();
  private readonly devices = new Map<string, number>();
  private readonly changes = new Set<string>();
  private readonly settler: Settler;
  private readonly changeWake = new Wake();
  private readonly embedWake = new Wake();
  private fullScanDue = true;
  private embedWanted = true;
  private stopping = false;
  /** The stop in progress or done (stop()). */
  private stopped: Promise<void> | null = null;
  private encoder: ImageEncoder | null = null;
  private lock: CatalogLock | null = null;
  private loops: Promise<void>[] = [];
  private rescanTimer: NodeJS.Timeout | null = null;
  private rootTimer: NodeJS.Timeout | null = null;
  private readonly warned = new Set<string>();
  private readonly rates: { at: number; done: number }[] = [];
  private readonly current: WatchState = {
    state: 'starting',
    roots: [],
    watched: [],
    run: null,
    settling: 0,
    computed: 0,
    reused: 0,
    failed: 0,
    removed: 0,
    lastScan: null,
    nextScanAt: null,
    error: null,
    pid: process.pid,
  };

  constructor(
    private readonly catalog: Catalog,
    private readonly paths: LibraryPaths,
    private readonly loader: ModelLoader,
    private readonly config: WatchConfig,
    private readonly events: WatchEvents = {},
    private readonly refresher: IndexRefresher | null = null,
  ) {
    this.settler = new Settler({ settleMs: config.settleMs ?? DEFAULT_SETTLE_MS, onSettled: (paths) => this.changed(paths) });
  }

  state(): WatchState {
    return {
      ...this.current,
      watched: [...this.watches.keys()],
      settling: this.settler.waiting,
      run: this.current.run && { ...this.current.run },
    };
  }

  /** Takes the lock, registers the roots' folders and starts following them; resolves once events flow (the first scan runs in the background). */
  async start(): Promise<void> {
    const given = this.config.dirs.map((d) => resolve(d));
    const roots = given.length > 0 ? given : await this.catalog.scans.roots();
    if (roots.length === 0) {
      throw new Error(
        'no folders to watch: name them (picsift watch DIR…), or scan some first; the library records the folders it scanned',
      );
    }
    // A root inside another is followed through it.
    const sorted = [...new Set(roots)].sort();
    for (const root of sorted) if (!this.roots.some((r) => root.startsWith(r + sep))) this.roots.push(root);
    this.current.roots = [...this.roots];
    this.lock = await this.takeLock();
    try {
      await chooseModel(this.catalog.models, this.catalog.location, this.config); // a --model that is not the library's is refused now
      for (const root of this.roots) await this.follow(root);
    } catch (err) {
      await this.release();
      throw err;
    }
    const rescanMs = this.config.rescanMs ?? DEFAULT_RESCAN_MS;
    this.rescanTimer = setInterval(() => {
      this.fullScanDue = true;
      this.current.nextScanAt = new Date(Date.now() + rescanMs).toISOString();
      this.changeWake.fire();
    }, rescanMs);
    this.rescanTimer.unref();
    this.current.nextScanAt = new Date(Date.now() + rescanMs).toISOString();
    this.rootTimer = setInterval(() => void this.lookForRoots(), this.config.rootCheckMs ?? 10_000);
    this.rootTimer.unref();
    this.loops = [this.changeLoop(), this.embedLoop()];
  }

  /**
   * Stops following events, finishes and commits the batches in flight, and lets go
   * of the library. Every call waits for the same stop: a second caller (a signal
   * after a failure) must not close the catalogue while the first still commits.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    this.stopping = true;
    this.current.state = 'stopping';
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.rootTimer) clearInterval(this.rootTimer);
    this.settler.close();
    await Promise.all([...this.watches.values()].map((w) => w.close().catch(() => {})));
    this.watches.clear();
    this.changeWake.fire();
    this.embedWake.fire();
    await Promise.allSettled(this.loops);
    await this.encoder?.close();
    this.encoder = null;
    await this.release();
    this.current.state = 'stopped';
  }

  /** Resolves when the loops end (stop(), or a failure: then the state says why). */
  async done(): Promise<void> {
    await Promise.allSettled(this.loops);
  }

  private async release(): Promise<void> {
    await this.lock?.release();
    this.lock = null;
  }

  /** SQLite: the library's writer lock for the watcher's life, waited for a while (a previous watcher may be committing its last batch). */
  private async takeLock(): Promise<CatalogLock> {
    const mode = this.catalog.backend === 'sqlite' ? 'scan' : 'embed';
    const deadline = Date.now() + (this.config.lockWaitMs ?? 30_000);
    for (let told = false; ;) {
      try {
        return await this.catalog.lock(mode, 'watch');
      } catch (err) {
        if (!(err instanceof CatalogBusyError) || Date.now() > deadline) throw err;
        if (!told) this.events.warn?.(`${err.message}; waiting for it…`);
        told = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  // ---------- events ----------

  private async follow(root: string): Promise<void> {
    try {
      const watch = await watchFolder(
        root,
        (paths) => this.settler.add(paths.filter((p) => !this.ignored(p))),
        (err) => this.warnOnce(`events: ${err.message}`, explainWatchFailure(root, err)),
        () => void this.unfollow(root),
      );
      if (this.stopping) await watch.close();
      else this.watches.set(root, watch);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.warnOnce(`missing ${root}`, `${root} is not there (unplugged?); watching for it to come back`);
      else this.warnOnce(`watch ${root}`, explainWatchFailure(root, err));
    }
  }

  private async unfollow(root: string): Promise<void> {
    const watch = this.watches.get(root);
    this.watches.delete(root);
    await watch?.close().catch(() => {});
  }

  /** Roots that are not followed (missing, or gone and back): followed again as soon as they are there, and rescanned. */
  private async lookForRoots(): Promise<void> {
    for (const root of this.roots) {
      if (this.watches.has(root) || this.stopping) continue;
      try {
        await stat(root);
      } catch {
        continue;
      }
      await this.follow(root);
      if (this.watches.has(root)) {
        this.warned.delete(`missing ${root}`);
        this.events.say?.(`${root} is back; rescanning it`);
        this.changed([root]);
      }
    }
  }

  /** The library's own files never count as photos, even when the library lives inside a watched folder. */
  private ignored(path: string): boolean {
    return path === this.paths.root || path.startsWith(this.paths.root + sep);
  }

  private changed(paths: string[]): void {
    for (const p of paths) this.changes.add(p);
    this.changeWake.fire();
  }

  // ---------- registration ----------

  private async changeLoop(): Promise<void> {
    try {
      while (!this.stopping) {
        if (this.fullScanDue) {
          this.fullScanDue = false;
          await this.fullScan();
        } else if (this.changes.size > 0) {
          const paths = [...this.changes].sort();
          this.changes.clear();
          await this.apply(paths);
        } else {
          await this.changeWake.wait();
        }
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private async fullScan(): Promise<void> {
    const started = performance.now();
    if (!this.current.run) this.current.state = 'scanning';
    const report = await this.registering(() =>
      registerFolders(this.catalog.scans, this.roots, {
        onFolder: (path, device) => this.devices.set(path, device),
        // Embedding starts with the first new files, not after a long first scan.
        onProgress: () => {
          this.embedWanted = true;
          this.embedWake.fire();
        },
        onProblem: (path, reason) => this.warnOnce(`problem ${path}`, `skipped ${path}: ${reason}`),
      }),
    );
    if (!report) {
      // PostgreSQL: another scan holds the catalogue's scan lock; rescan once it is done.
      setTimeout(() => {
        this.fullScanDue = true;
        this.changeWake.fire();
      }, 5000).unref();
      return;
    }
    this.current.removed += report.removed;
    this.current.lastScan = {
      at: new Date().toISOString(),
      seconds: (performance.now() - started) / 1000,
      added: report.added,
      changed: report.changed,
      removed: report.removed,
    };
    if (this.current.state === 'scanning') this.current.state = 'idle';
    this.pendingMayHaveGrown(report);
  }

  /** Looks at paths that events named: registers what is there, removes what is gone for good. */
  private async apply(paths: string[]): Promise<void> {
    const there: string[] = [];
    const gone: string[] = [];
    for (const path of paths) {
      if (this.ignored(path)) continue;
      try {
        await lstat(path);
        there.push(path);
      } catch {
        gone.push(path);
      }
    }
    const report = await this.registering(async () => {
      const r =
        there.length > 0
          ? await registerFolders(
              this.catalog.scans,
              there,
              { onFolder: (path, device) => this.devices.set(path, device) },
              { recordRoots: false },
            )
          : null;
      let removed = 0;
      const confirmed: string[] = [];
      for (const path of gone) if (await this.goneForGood(path)) confirmed.push(path);
      if (confirmed.length > 0) {
        const scan = await this.catalog.scans.beginScan();
        for (const path of confirmed) {
          removed += await this.catalog.scans.markUnseenRemoved(path, scan);
          for (const folder of this.devices.keys()) if (folder === path || folder.startsWith(path + sep)) this.devices.delete(folder);
        }
      }
      return {
        ...(r ?? { added: 0, skipped: 0, changed: 0, unchanged: 0, removed: 0, problems: 0, unreadableNames: 0 }),
        removed: (r?.removed ?? 0) + removed,
      };
    });
    if (!report) {
      // Could not register now (PostgreSQL: another scan holds the lock): try these again shortly.
      setTimeout(() => this.changed(paths), 5000).unref();
      return;
    }
    this.current.removed += report.removed;
    this.pendingMayHaveGrown(report);
  }

  /**
   * A path that is gone may have been deleted (then its photos go), or may have gone
   * with a mount (a disk unplugged: its photos stay until a full rescan of a
   * reachable parent finds them gone). It counts as deleted only when its nearest
   * existing folder is inside a watched root, on the device it was on, and every
   * folder between them was on that device too.
   */
  private async goneForGood(path: string): Promise<boolean> {
    const root = this.roots.find((r) => path === r || path.startsWith(r + sep));
    if (!root || path === root) return false; // a root that is gone: only a rescan of it decides (it may be unmounted)
    const between: string[] = [path];
    let folder = dirname(path);
    for (;;) {
      try {
        const info = await stat(folder);
        if (!info.isDirectory()) return false;
        const device = info.dev;
        if ((this.devices.get(folder) ?? device) !== device) break; // the folder was a mount point: the mount is gone
        if (between.every((p) => (this.devices.get(p) ?? device) === device)) return true;
        break;
      } catch {
        if (folder === root || !folder.startsWith(root + sep)) return false; // the root itself is gone
        between.push(folder);
        folder = dirname(folder);
      }
    }
    this.warnOnce(
      `mount ${path}`,
      `${path} went away with its disk or mount; its photos stay in the library until a full rescan of ${root} finds them gone`,
    );
    return false;
  }

  /** Runs a registration under the catalogue's scan lock (PostgreSQL; SQLite's writer lock is held throughout); null when busy. */
  private async registering<T>(work: () => Promise<T>): Promise<T | null> {
    if (this.catalog.backend === 'sqlite') return work();
    let lock: CatalogLock;
    try {
      lock = await this.catalog.lock('scan', 'watch');
    } catch (err) {
      if (!(err instanceof CatalogBusyError)) throw err;
      this.warnOnce('scan lock', `${err.message}; new files are registered once it is done`);
      return null;
    }
    try {
      return await work();
    } finally {
      await lock.release();
    }
  }

  private pendingMayHaveGrown(report: RegisterReport): void {
    const more = report.added + report.changed;
    if (this.current.run) this.current.run.total += more;
    this.embedWanted = true;
    this.embedWake.fire();
  }

  // ---------- embedding ----------

  private async embedLoop(): Promise<void> {
    try {
      while (!this.stopping) {
        if (!this.embedWanted) {
          await this.embedWake.wait();
          continue;
        }
        this.embedWanted = false;
        await this.embedRound();
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private async embedRound(): Promise<void> {
    const queue = this.catalog.embedQueue({ worker: `${hostname()} pid ${process.pid} (watch)` });
    try {
      const pending = await queue.pendingCount();
      if (pending === 0) {
        this.endRun();
        return;
      }
      const spec = await chooseModel(this.catalog.models, this.catalog.location, this.config);
      const threads = this.config.embedThreads ?? defaultEmbedThreads();
      this.encoder ??= await this.loader.imageEncoder(spec, { threads });
      await this.catalog.models.claimModel({ id: spec.id, dtype: spec.dtype, dims: this.encoder.dims });
      const run = (this.current.run ??= { total: 0, done: 0, failed: 0, perSecond: 0, etaSeconds: null });
      run.total = run.done + pending;
      this.current.state = 'embedding';
      let before = 0;
      let failedBefore = 0;
      const options: EmbedOptions = {
        batchSize: this.config.batchSize,
        maxPixels: this.config.maxPixels,
        fileTimeoutMs: this.config.fileTimeoutMs,
        decodeConcurrency: threads,
        localPath: this.config.pathMap ? pathMapper(this.config.pathMap) : undefined,
        shouldStop: () => this.stopping,
        ready: (file) => this.settler.ready(file.path, file.size, file.mtimeMs),
        onProgress: (p) => {
          run.done += p.done - before;
          run.failed += p.failed - failedBefore;
          before = p.done;
          failedBefore = p.failed;
          this.measure(run);
          this.refresher?.poke();
        },
      };
      const report = await embedPending(queue, this.encoder, options);
      this.current.computed += report.embedded - report.reused;
      this.current.reused += report.reused;
      this.current.failed += report.failed;
      // Deferred files come back through the settler, which wants another round.
      if (!this.embedWanted && report.deferred === 0 && !this.stopping) this.endRun();
    } finally {
      await queue.close();
    }
  }

  private endRun(): void {
    this.current.run = null;
    this.rates.length = 0;
    if (this.current.state === 'embedding' || this.current.state === 'starting') this.current.state = 'idle';
    this.refresher?.poke();
  }

  /** Photos per second over the last ten seconds or so, and the time left at that rate. */
  private measure(run: NonNullable<WatchState['run']>): void {
    const now = performance.now();
    this.rates.push({ at: now, done: run.done });
    while (this.rates.length > 2 && now - this.rates[0].at > 10_000) this.rates.shift();
    const first = this.rates[0];
    const seconds = (now - first.at) / 1000;
    run.perSecond = seconds > 0.5 ? (run.done - first.done) / seconds : run.perSecond;
    run.etaSeconds = run.perSecond > 0 ? Math.max(0, Math.round((run.total - run.done) / run.perSecond)) : null;
  }

  /** A failure that registration or embedding cannot go on from (a full disk, a lost library): everything stops. */
  private fail(err: unknown): void {
    const message = (err as Error).message ?? String(err);
    if (this.current.error) return;
    this.current.error = message;
    this.events.warn?.(`watching stopped: ${message}`);
    void this.stop().finally(() => (this.current.state = 'failed'));
  }

  private warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.events.warn?.(line);
  }
}
