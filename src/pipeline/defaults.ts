// The embed pipeline's defaults, in a module of their own so that the command
// line's help can show them without loading the pipeline (sharp, the decoder).
import { defaultBatchSize } from '../model/execution-provider.js';

/** Images per model call on the CPU: the CPU provider's (a GPU provider has its own; execution-provider.ts). */
export const DEFAULT_BATCH_SIZE = defaultBatchSize('cpu');
/**
 * One decode per libuv thread (UV_THREADPOOL_SIZE, 4 by default) keeps the
 * decoder busy without letting files of later batches overtake the next one.
 * What the pipeline reads and decodes at once when the model runs on the CPU of
 * a machine with up to 4 cores; otherwise configureDecoding
 * (src/media/decode-threads.ts) sizes it to the cores.
 */
export const DEFAULT_DECODE_CONCURRENCY = 4;
