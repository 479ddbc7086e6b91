// Opening photos without ever hanging. A catalogued path can later hold a named
// pipe, a device or a file on a dead network mount: opening a FIFO blocks until a
// writer appears, and every blocked open holds one of libuv's few threads, so a
// handful of them would stall every file read, hash and decode in the process.
// So: open with O_NONBLOCK (a FIFO then opens at once) and refuse anything but a
// regular file before reading; give every operation a time limit; and let file
// operations hold at most all but one thread of the pool, so even operations that
// never return (a hung mount) leave the rest of the process working.
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Limiter } from '../util/limiter.js';
import { threadPoolSize } from './thread-pool.js';

let fileOperations = new Limiter(Math.max(1, threadPoolSize() - 1));

/**
 * Sets how many file operations this thread may run at once. libuv's pool is
 * the process's, shared by every thread, while each worker thread has its own
 * instance of this module: worker threads that open files share the pool's
 * threads less one between them (the embed pipeline's decode workers, see
 * src/pipeline/decode-pool.ts). Call before the first file operation.
 */
export function limitFileOperations(count: number): void {
  fileOperations = new Limiter(count);
}

/** The time a single file operation may take by default (a local disk answers in milliseconds). */
export const DEFAULT_FILE_TIMEOUT_MS = 60_000;

export class FileTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`gave up after ${ms / 1000} s: ${what} did not finish (a hung network mount?)`);
    this.name = 'FileTimeoutError';
  }
}

/** Runs a file operation in its turn, failing after `ms` (waiting for a turn included). */
function limited<T>(what: string, ms: number, operation: () => Promise<T>, cleanup?: (late: T) => void): Promise<T> {
  let timedOut = false;
  const work = fileOperations.run(operation);
  work.then(
    (value) => {
      if (timedOut) cleanup?.(value);
    },
    () => {},
  );
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new FileTimeoutError(what, ms));
    }, ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

export interface OpenedFile {
  handle: FileHandle;
  info: Stats;
}

/** Opens `path` for reading if it is a regular file (links followed); the caller closes the handle. */
export async function openRegularFile(path: string, timeoutMs = DEFAULT_FILE_TIMEOUT_MS): Promise<OpenedFile> {
  const opened = await limited(
    'opening the file',
    timeoutMs,
    async () => {
      const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      try {
        return { handle, info: await handle.stat() };
      } catch (err) {
        await handle.close();
        throw err;
      }
    },
    (late) => void late.handle.close().catch(() => {}),
  );
  if (!opened.info.isFile()) {
    await opened.handle.close();
    throw new Error(`not a regular file (${kindOf(opened.info)}): only image files are read`);
  }
  return opened;
}

/** The whole content of a regular file, with the size and mtime of what was read. */
export async function readRegularFile(
  path: string,
  timeoutMs = DEFAULT_FILE_TIMEOUT_MS,
): Promise<{ bytes: Buffer; size: number; mtimeMs: number }> {
  const { handle, info } = await openRegularFile(path, timeoutMs);
  try {
    const bytes = await limited('reading the file', timeoutMs, () => handle.readFile());
    return { bytes, size: info.size, mtimeMs: Math.trunc(info.mtimeMs) };
  } finally {
    await handle.close();
  }
}

/** Reads up to `length` bytes from the start of an open file, with a time limit. */
export async function readStart(handle: FileHandle, length: number, timeoutMs = DEFAULT_FILE_TIMEOUT_MS): Promise<Buffer> {
  const sample = Buffer.alloc(length);
  const { bytesRead } = await limited('reading the file', timeoutMs, () => handle.read(sample, 0, length, 0));
  return sample.subarray(0, bytesRead);
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe';
  if (info.isDirectory()) return 'a folder';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a plain file';
}
