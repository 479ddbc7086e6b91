// The embed pipeline's defaults, in a module of their own so that the command
// line's help can show them without loading the pipeline (sharp, the decoder).
import { defaultBatchSize } from '../model/execution-provider.js';

/** Images per model call on the CPU: the CPU provider's (a GPU provider has its own; execution-provider.ts). */
export const DEFAULT_BATCH_SIZE = defaultBatchSize('cpu');
