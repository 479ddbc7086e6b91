// libvips keeps ONE error buffer for the whole process, and sharp clears it at
// the end of every operation, failed or not. With several images decoding at
// once, a failure's message can hold another file's errors, or be wiped to
// "Unknown error" by another file's clean-up: indexing the same broken folder
// twice gave different reasons for 27 of 109 files. So every sharp operation
// here runs under a shared lock, and one that fails runs again alone (no other
// operation in flight, none started): then the buffer holds only its own
// messages, and a file's reason is its own and the same on every run. Failures
// are rare (0.1% of a real collection), so the pause costs nothing measurable.
//
// "Alone" means in the whole process, not in one thread: worker threads load
// sharp's native module (and libvips with it) once per process, so they share
// that one buffer. A lock per thread (each worker has its own instance of this
// module) is not enough: decoding the 105 failing files of bad-inputs in worker
// threads, each with its own lock, 2 workers × 4 files in flight gave a reason
// other than the file's own for 0–4 of them per run (5 runs), 4 workers × 4 for
// 5–7 (3 runs); in one thread with one lock, 0. So the lock's state lives in a
// SharedArrayBuffer that worker threads join (lockForThread, joinVipsLock), with
// Atomics.waitAsync to wait without blocking any thread's event loop.
//
// Threads can die holding the lock (a crashed or stopped worker): each thread
// counts its holds in a slot of its own, which releaseThreadSlot clears once the
// thread has exited. And an operation that never ends must not stop every
// decode: one waiting to run alone gives up waiting after ALONE_WAIT_LIMIT_MS
// and runs anyway (its message may then hold another file's lines, as it would
// without the lock).

/** Cells of the shared state (Int32Array indexes). */
const EXCLUSIVE = 0; // 0, or 1 + the slot of the thread whose operation runs alone
const WAITING_ALONE = 1; // operations waiting to run alone (new shared holders wait behind them)
const CHANGES = 2; // bumped by every release, so waiters can wait for "anything changed"
const SLOTS = 3; // then one cell per thread: its shared holds

/** Threads that can share one lock: the one that made it and up to 1023 more (worker threads, replacements included while alive). */
const MAX_THREADS = 1024;

/** How long an operation waits to run alone before it runs anyway. */
export const ALONE_WAIT_LIMIT_MS = 10_000;

/** What another thread needs to share this thread's lock (structured-cloneable: pass it in workerData). */
export interface VipsLockHandle {
  buffer: SharedArrayBuffer;
  slot: number;
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Node 20 has Atomics.waitAsync; TypeScript's ES2023 library does not declare it yet.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Many holders at once, or one alone; a waiting exclusive holder goes before new shared ones. Shared by threads. */
class SharedExclusiveLock {
  private readonly cells: Int32Array;
  private readonly mine: number;

  constructor(readonly handle: VipsLockHandle) {
    this.cells = new Int32Array(handle.buffer);
    this.mine = SLOTS + handle.slot;
  }

  async withShared<T>(work: () => Promise<T>): Promise<T> {
    await this.acquireShared();
    try {
      return await work();
    } finally {
      Atomics.sub(this.cells, this.mine, 1);
      this.changed();
    }
  }

  async withExclusive<T>(work: () => Promise<T>): Promise<T> {
    const flag = await this.acquireExclusive(performance.now() + ALONE_WAIT_LIMIT_MS);
    try {
      return await work();
    } finally {
      if (flag) Atomics.compareExchange(this.cells, EXCLUSIVE, 1 + this.handle.slot, 0);
      this.changed();
    }
  }

  private async acquireShared(): Promise<void> {
    const c = this.cells;
    for (;;) {
      const seen = Atomics.load(c, CHANGES);
      if (Atomics.load(c, EXCLUSIVE) === 0 && Atomics.load(c, WAITING_ALONE) === 0) {
        Atomics.add(c, this.mine, 1);
        // An operation may have taken the lock alone between the check and the count:
        // it then waits for this count, so step back and let it go first.
        if (Atomics.load(c, EXCLUSIVE) === 0) return;
        Atomics.sub(c, this.mine, 1);
        this.changed();
      }
      await wait(c, seen);
    }
  }

  /** True once this operation holds the lock alone; false when it gave up waiting at `deadline`. */
  private async acquireExclusive(deadline: number): Promise<boolean> {
    const c = this.cells;
    const me = 1 + this.handle.slot;
    Atomics.add(c, WAITING_ALONE, 1);
    let flag = false;
    try {
      while (!flag) {
        const seen = Atomics.load(c, CHANGES);
        flag = Atomics.compareExchange(c, EXCLUSIVE, 0, me) === 0;
        if (!flag && !(await wait(c, seen, deadline))) return false;
      }
    } finally {
      Atomics.sub(c, WAITING_ALONE, 1);
    }
    for (;;) {
      const seen = Atomics.load(c, CHANGES);
      if (this.sharedHolds() === 0) return true;
      if (!(await wait(c, seen, deadline))) return true; // holds the flag; others' operations still run
    }
  }

  private sharedHolds(): number {
    let holds = 0;
    for (let i = SLOTS; i < this.cells.length; i++) holds += Atomics.load(this.cells, i);
    return holds;
  }

  private changed(): void {
    Atomics.add(this.cells, CHANGES, 1);
    Atomics.notify(this.cells, CHANGES);
  }

  /** Forgets the holds of a thread that has exited. */
  releaseSlot(slot: number): void {
    Atomics.store(this.cells, SLOTS + slot, 0);
    Atomics.compareExchange(this.cells, EXCLUSIVE, 1 + slot, 0);
    this.changed();
  }
}

/** Waits until the state changes from `seen` (or until `deadline`: then false). */
async function wait(cells: Int32Array, seen: number, deadline = Infinity): Promise<boolean> {
  const left = deadline - performance.now();
  if (left <= 0) return false;
  const result = waitAsync(cells, CHANGES, seen, Number.isFinite(left) ? left : undefined);
  if (!result.async) return result.value !== 'timed-out';
  // A pending waitAsync does not keep Node's event loop alive: without this timer
  // a thread with nothing else to do would exit while it waits.
  const alive = setInterval(() => {}, 1 << 30);
  try {
    return (await result.value) !== 'timed-out';
  } finally {
    clearInterval(alive);
  }
}

let vips: SharedExclusiveLock | null = null;
/** Whether this thread's lock is another thread's (joinVipsLock): only the thread that made a lock lends its slots. */
let joined = false;
/** Slots this thread has handed to other threads and not yet had back. */
const lent = new Set<number>();

function lock(): SharedExclusiveLock {
  vips ??= new SharedExclusiveLock({ buffer: new SharedArrayBuffer(4 * (SLOTS + MAX_THREADS)), slot: 0 });
  return vips;
}

/**
 * A slot of this thread's lock for a new thread, to pass to joinVipsLock there
 * before its first sharp operation. Give it back with releaseThreadSlot once
 * that thread has exited.
 */
export function lockForThread(): VipsLockHandle {
  if (joined) throw new Error("only the thread that made the decoder's lock lends its slots");
  const own = lock().handle;
  for (let slot = 1; slot < MAX_THREADS; slot++) {
    if (lent.has(slot) || slot === own.slot) continue;
    lent.add(slot);
    return { buffer: own.buffer, slot };
  }
  throw new Error(`more than ${MAX_THREADS - 1} threads decode at once`);
}

/** Makes this thread's sharp operations share the lock of the thread that made `handle`. Call before the first one. */
export function joinVipsLock(handle: VipsLockHandle): void {
  vips = new SharedExclusiveLock(handle);
  joined = true;
}

/** Forgets what the thread given `handle` held (it has exited), and frees its slot. */
export function releaseThreadSlot(handle: VipsLockHandle): void {
  new SharedExclusiveLock(handle).releaseSlot(handle.slot);
  lent.delete(handle.slot);
}

/**
 * Runs a sharp operation so that, when it fails, its error message is its own:
 * concurrently with other operations, and on failure once more alone.
 */
export async function withOwnErrors<T>(operation: () => Promise<T>): Promise<T> {
  const vips = lock();
  try {
    return await vips.withShared(operation);
  } catch {
    return vips.withExclusive(operation);
  }
}
