// One decode worker thread (decode-pool.ts starts them): stages 1 and 2 of
// embedding for the files the main thread sends, with its own event loop. It
// reads and hashes a file and says what it read; the main thread asks the
// catalogue whether that content already has a vector, then says "decode"
// (the tensor comes back, transferred) or "drop". The bytes stay here meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { limitFileOperations } from '../media/safe-open.js';
import { joinVipsLock, type VipsLockHandle } from '../media/vips-errors.js';
import type { PreprocessConfig } from '../media/preprocessor-config.js';
import { mediaDecoder, timeoutReason, type DecodedImage, type DecodeStage, type ReadStage } from './prepare.js';
import { readImageFile } from './read-stage.js';

export interface DecodeWorkerSetup {
  config: PreprocessConfig;
  maxPixels?: number;
  fastShrink?: boolean;
  timeoutMs: number;
  /** This thread's share of file operations at once (safe-open.ts). */
  fileOperations: number;
  /** The process's one lock around sharp operations (vips-errors.ts). */
  vipsLock: VipsLockHandle;
  /** A module whose `read` and/or `decode` exports replace the real stages (tests). */
  stages?: string;
}

export type ToWorker =
  | { kind: 'read'; id: number; path: string; timeoutMs: number }
  | { kind: 'decode'; id: number }
  | { kind: 'drop'; id: number }
  | { kind: 'ping' };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'read'; id: number; size: number; mtimeMs: number; contentHash: string }
  | ({ kind: 'decoded'; id: number; tensor: Float32Array } & DecodedImage)
  | { kind: 'error'; id: number; message: string }
  | { kind: 'pong' };

async function serve(setup: DecodeWorkerSetup): Promise<void> {
  const port = parentPort!;
  joinVipsLock(setup.vipsLock);
  limitFileOperations(setup.fileOperations);
  const custom = (setup.stages ? await import(setup.stages) : {}) as { read?: ReadStage; decode?: DecodeStage };
  const read = custom.read ?? readImageFile;
  const decode = custom.decode ?? mediaDecoder(setup, setup.timeoutMs);
  const floats = 3 * setup.config.cropHeight * setup.config.cropWidth;
  /** Bytes read and not yet decoded or dropped, by request id. */
  const held = new Map<number, Buffer>();
  /**
   * Each file's time limit, from the start of its read to the end of its decode:
   * prepare.ts's, kept here so that its timers race as they do on the main thread
   * (a read's own limit, set first, before the file's; the file's before sharp's).
   */
  const limits = new Map<number, NodeJS.Timeout>();
  /** Files whose time ran out, until the main thread drops them: their reason. */
  const expired = new Map<number, string>();
  const send = (reply: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);
  const fail = (id: number, err: unknown): void => send({ kind: 'error', id, message: err instanceof Error ? err.message : String(err) });
  const done = (id: number): boolean => {
    clearTimeout(limits.get(id));
    limits.delete(id);
    return !expired.has(id);
  };

  port.on('message', (request: ToWorker) => {
    const { id } = request as { id: number };
    switch (request.kind) {
      case 'read': {
        // Started before the file's own limit, as on the main thread, so that a read's limit (safe-open.ts) fires first.
        const reading = (async () => read(request.path, request.timeoutMs))();
        limits.set(
          id,
          setTimeout(() => {
            limits.delete(id);
            held.delete(id);
            expired.set(id, timeoutReason(request.timeoutMs));
            fail(id, new Error(expired.get(id)));
          }, request.timeoutMs),
        );
        reading.then(
          ({ bytes, size, mtimeMs, contentHash }) => {
            if (expired.has(id)) return;
            held.set(id, bytes);
            send({ kind: 'read', id, size, mtimeMs, contentHash });
          },
          (err: unknown) => done(id) && fail(id, err),
        );
        break;
      }
      case 'decode': {
        const bytes = held.get(id);
        held.delete(id);
        if (!bytes) {
          fail(id, new Error(expired.get(id) ?? 'the decoder thread no longer holds the bytes it read'));
          break;
        }
        const tensor = new Float32Array(floats);
        Promise.resolve()
          .then(() => decode(bytes, tensor, 0))
          .then(
            (image) => done(id) && send({ kind: 'decoded', id, tensor, ...image }, [tensor.buffer]),
            (err: unknown) => done(id) && fail(id, err),
          );
        break;
      }
      case 'drop':
        done(id);
        held.delete(id);
        expired.delete(id);
        break;
      case 'ping':
        send({ kind: 'pong' });
        break;
    }
  });
  send({ kind: 'ready' });
}

await serve(workerData as DecodeWorkerSetup);
