// libvips keeps ONE error buffer for the whole process, and sharp clears it at
// the end of every operation, failed or not. With several images decoding at
// once, a failure's message can hold another file's errors, or be wiped to
// "Unknown error" by another file's clean-up: indexing the same broken folder
// twice gave different reasons for 27 of 109 files. So every sharp operation
// here runs under a shared lock, and one that fails runs again alone (no other
// operation in flight, none started): then the buffer holds only its own
// messages, and a file's reason is its own and the same on every run. Failures
// are rare (0.1% of a real collection), so the pause costs nothing measurable.

/** Many holders at once, or one alone; a waiting exclusive holder goes before new shared ones. */
class SharedExclusiveLock {
  private shared = 0;
  private exclusive = false;
  private readonly waitingExclusive: (() => void)[] = [];
  private waitingShared: (() => void)[] = [];

  async withShared<T>(work: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.waitingExclusive.length > 0) await new Promise<void>((resolve) => this.waitingShared.push(resolve));
    else this.shared++;
    try {
      return await work();
    } finally {
      this.shared--;
      this.next();
    }
  }

  async withExclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.shared > 0) await new Promise<void>((resolve) => this.waitingExclusive.push(resolve));
    else this.exclusive = true;
    try {
      return await work();
    } finally {
      this.exclusive = false;
      this.next();
    }
  }

  /** Hands the lock on: to one exclusive waiter once nobody holds it, else to every shared waiter. */
  private next(): void {
    if (this.exclusive || this.shared > 0) return;
    const writer = this.waitingExclusive.shift();
    if (writer) {
      this.exclusive = true;
      writer();
      return;
    }
    const readers = this.waitingShared;
    this.waitingShared = [];
    this.shared += readers.length;
    for (const reader of readers) reader();
  }
}

const vips = new SharedExclusiveLock();

/**
 * Runs a sharp operation so that, when it fails, its error message is its own:
 * concurrently with other operations, and on failure once more alone.
 */
export async function withOwnErrors<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await vips.withShared(operation);
  } catch {
    return vips.withExclusive(operation);
  }
}
