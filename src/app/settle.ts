// Waiting for files to be complete. A file that is being copied or synced in
// changes size and mtime as it grows; it is taken only once both have stayed the
// same for `settleMs` (or its mtime is already that old), so a half-written JPEG
// is neither registered from an event nor embedded. One stat per path per
// settle period, however many events the writes cause (chokidar's
// awaitWriteFinish polls every file every 100 ms instead: 10,000 new files
// would be 100,000 stats a second).
import { stat } from 'node:fs/promises';

interface Observation {
  size: number;
  mtimeMs: number;
  /** When this size and mtime were first seen. */
  since: number;
}

export interface SettlerOptions {
  settleMs: number;
  /** Told, in groups, the paths that are ready to be looked at: settled files, and paths that are gone or are folders. */
  onSettled: (paths: string[]) => void;
  now?: () => number;
  /** How often due paths are checked; default settleMs / 4. */
  tickMs?: number;
}

export class Settler {
  /** Paths waiting, with when to look at them next. */
  private readonly due = new Map<string, number>();
  /** What each path looked like when last seen, for files not yet settled and files `ready` approved of. */
  private readonly seen = new Map<string, Observation>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private readonly now: () => number;

  constructor(private readonly options: SettlerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Paths that events named: each is looked at once it has been quiet for the settle period. */
  add(paths: Iterable<string>): void {
    const at = this.now();
    for (const path of paths) if (!this.due.has(path)) this.due.set(path, at);
    this.schedule();
  }

  /** Paths waiting to settle. */
  get waiting(): number {
    return this.due.size;
  }

  /**
   * Whether a file read with this size and mtime may be embedded now: its mtime is
   * older than the settle period, or it has looked the same for that long. If not,
   * it is watched and reported through onSettled once it is.
   */
  ready(path: string, size: number, mtimeMs: number): boolean {
    const now = this.now();
    if (now - mtimeMs >= this.options.settleMs && mtimeMs <= now) return true;
    const before = this.seen.get(path);
    if (before && before.size === size && before.mtimeMs === mtimeMs) {
      if (now - before.since >= this.options.settleMs) return true;
    } else {
      this.seen.set(path, { size, mtimeMs, since: now });
    }
    if (!this.due.has(path)) this.due.set(path, (this.seen.get(path)?.since ?? now) + this.options.settleMs);
    this.schedule();
    return false;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }

  private schedule(): void {
    if (this.timer || this.due.size === 0) return;
    const tick = this.options.tickMs ?? Math.max(50, this.options.settleMs / 4);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check().finally(() => this.schedule());
    }, tick);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = this.now();
      const settled: string[] = [];
      const dueNow = [...this.due].filter(([, at]) => at <= now).map(([path]) => path);
      // Stats in parallel, a bounded number at a time.
      for (let i = 0; i < dueNow.length; i += 64) {
        await Promise.all(dueNow.slice(i, i + 64).map((path) => this.look(path, now, settled)));
      }
      if (settled.length > 0) this.options.onSettled(settled);
    } finally {
      this.checking = false;
    }
  }

  private async look(path: string, now: number, settled: string[]): Promise<void> {
    let size: number;
    let mtimeMs: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'NOTFILE' });
      size = info.size;
      mtimeMs = Math.trunc(info.mtimeMs);
    } catch {
      // Gone, a folder, or unreadable: nothing to wait for; the watcher looks at it now.
      this.due.delete(path);
      this.seen.delete(path);
      settled.push(path);
      return;
    }
    const before = this.seen.get(path);
    const same = before && before.size === size && before.mtimeMs === mtimeMs;
    const old = now - mtimeMs >= this.options.settleMs && mtimeMs <= now;
    if (old || (same && now - before.since >= this.options.settleMs)) {
      this.due.delete(path);
      // Kept so that ready() agrees when the embedder reads the same size and mtime.
      this.seen.set(path, same ? before : { size, mtimeMs, since: now - this.options.settleMs });
      settled.push(path);
      this.forgetLater(path);
      return;
    }
    if (!same) this.seen.set(path, { size, mtimeMs, since: now });
    this.due.set(path, (same ? before.since : now) + this.options.settleMs);
  }

  /** Observations of settled files are kept a while for ready(), then dropped so memory does not grow with the library. */
  private readonly settledAt = new Map<string, number>();
  private forgetLater(path: string): void {
    const now = this.now();
    this.settledAt.set(path, now);
    if (this.settledAt.size < 50_000) return;
    for (const [p, at] of this.settledAt) {
      if (now - at < 10 * 60_000) break;
      this.settledAt.delete(p);
      if (!this.due.has(p)) this.seen.delete(p);
    }
  }
}
