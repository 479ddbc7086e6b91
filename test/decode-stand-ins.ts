// Stand-in stages for the decode workers' tests (test/decode-workers.test.ts),
// loaded inside each worker thread through EmbedOptions.workerStages: the real
// read stage, except for files whose name says to crash the thread, hang it, or
// stand on a hung network mount.
import { FileTimeoutError } from '../src/media/safe-open.js';
import { readImageFile } from '../src/pipeline/read-stage.js';
import type { ReadStage } from '../src/pipeline/prepare.js';

export const read: ReadStage = async (path, timeoutMs) => {
  if (path.includes('crash-the-thread')) {
    // An uncaught exception ends the worker thread, with every file it holds.
    setImmediate(() => {
      throw new Error('boom in the decoder thread');
    });
    return new Promise(() => {});
  }
  if (path.includes('hang-the-thread')) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (;;); // JavaScript that never returns: the thread answers nothing any more
  }
  if (path.includes('on-a-hung-mount')) {
    // What safe-open.ts does when open() never returns: its own time limit, set as the read starts.
    return new Promise((_, reject) => setTimeout(() => reject(new FileTimeoutError('opening the file', timeoutMs)), timeoutMs));
  }
  return readImageFile(path, timeoutMs);
};
