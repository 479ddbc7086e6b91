// `serve --watch`'s side of the watcher: runs it in a process of its own
// (watch-child.ts), so that nothing the watcher does can hold up a search, and
// keeps its last reported state for the API. A watcher that dies is started
// again (it resumes where it stopped: every committed batch is kept); stop()
// lets the one running commit its batch in flight first.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildStart } from './watch-child.js';
import type { RefresherState } from './index-refresher.js';
import type { WatchState } from './watch-service.js';

export interface BackgroundState {
  watch: WatchState | null;
  index: RefresherState | null;
  /** Why the watcher is not running, if it is not. */
  error: string | null;
}

export interface BackgroundWatchOptions extends Omit<ChildStart, 'kind'> {
  say?: (line: string) => void;
  warn?: (line: string) => void;
  /** Wait before starting a watcher that died again; default 5 s. */
  restartMs?: number;
  /** How long stop() waits for the batch in flight before killing; default 20 s. */
  stopTimeoutMs?: number;
}

export class BackgroundWatch {
  private child: ChildProcess | null = null;
  private stopping = false;
  private readonly latest: BackgroundState = { watch: null, index: null, error: null };
  private restartTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly options: BackgroundWatchOptions) {}

  /** Starts the watcher and resolves once it follows its folders (its first scan goes on in the background). */
  static async start(options: BackgroundWatchOptions): Promise<BackgroundWatch> {
    const watch = new BackgroundWatch(options);
    await watch.launch();
    return watch;
  }

  state(): BackgroundState {
    return this.latest;
  }

  /** The watcher process (tests kill it). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private launch(): Promise<void> {
    const { say, warn, restartMs: _r, stopTimeoutMs: _s, ...start } = this.options;
    const child = fork(fileURLToPath(new URL('./watch-child.js', import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      child.on('message', (m: ChildMessage) => {
        if (m.kind === 'state') {
          this.latest.watch = m.watch;
          this.latest.index = m.index;
        } else if (m.kind === 'line') {
          (m.level === 'warn' ? warn : say)?.(`watch: ${m.line}`);
        } else if (m.kind === 'started') {
          started = true;
          this.latest.error = null;
          resolve();
        } else if (m.kind === 'failed') {
          this.latest.error = m.message;
          if (!started) reject(new Error(m.message));
        }
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        if (!started) {
          reject(new Error(this.latest.error ?? `the watcher exited before it started (${signal ?? `code ${code}`})`));
          return;
        }
        if (this.stopping) return;
        this.latest.error ??= `the watcher exited (${signal ?? `code ${code}`})`;
        warn?.(`watch: ${this.latest.error}; starting it again`);
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          if (!this.stopping) this.launch().catch((err: Error) => warn?.(`watch: cannot start again: ${err.message}`));
        }, this.options.restartMs ?? 5000);
        this.restartTimer.unref();
      });
      child.send({ kind: 'start', ...start } satisfies ChildStart);
    });
  }

  /** Asks the watcher to stop after committing its batch in flight; kills it if that takes too long. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ kind: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 20_000);
    await exited;
    clearTimeout(timer);
  }
}
