// `embed`: every pending image of the library gets a vector from the library's
// model (or a recorded failure). With a PostgreSQL catalogue any number of these
// run at once, on any number of machines, sharing the queue.
import type { Catalog } from '../catalog/ports.js';
import { embedPending, type EmbedOptions, type EmbedReport } from '../pipeline/embed.js';
import { pathMapper, type PathMapping } from '../pipeline/path-map.js';
import type { Provider } from '../model/execution-provider.js';
import { chooseModel, type ModelRequest } from './model-choice.js';
import type { ModelLoader } from './model-loader.js';

export interface EmbedRequest extends ModelRequest, Omit<EmbedOptions, 'localPath' | 'onProgress'> {
  retryFailed?: boolean;
  /** --path-map: catalogue paths as this machine sees them. */
  pathMap?: readonly PathMapping[];
  /** Who this worker is, for other workers and for messages. */
  worker?: string;
  /** How long claims stay this worker's without renewal (PostgreSQL). */
  leaseMs?: number;
}

export interface EmbedEvents {
  /** How many failed images go back to the queue (--retry-failed). */
  onRetry?: (count: number) => void;
  /** Called once the model is loaded and the work is known. */
  onStart?: (pending: number) => void;
  onProgress?: (done: number) => void;
  onFailure?: (path: string, reason: string) => void;
  /** The worker has nothing to claim and waits for other workers' claims (they may expire). */
  onWait?: () => void;
}

/** Null when there was nothing to embed. */
export async function embedLibrary(
  catalog: Catalog,
  loader: ModelLoader,
  request: EmbedRequest,
  events: EmbedEvents = {},
): Promise<(EmbedReport & { provider: Provider }) | null> {
  const queue = catalog.embedQueue({ worker: request.worker, leaseMs: request.leaseMs });
  try {
    if (request.retryFailed) events.onRetry?.(await queue.retryFailed());
    const spec = await chooseModel(catalog.models, catalog.location, request);
    const pending = await queue.pendingCount();
    if (pending === 0) return null;
    const encoder = await loader.imageEncoder(spec);
    try {
      const model = { id: spec.id, dtype: spec.dtype, dims: encoder.dims };
      await catalog.models.claimModel(model); // refuses a library (or a shared catalogue) of another model
      events.onStart?.(pending);
      const report = await embedPending(queue, encoder, {
        ...request,
        localPath: pathMapper(request.pathMap ?? []),
        onProgress: (p) => events.onProgress?.(p.done),
        onFailure: events.onFailure,
        onWait: events.onWait,
      });
      return { ...report, provider: encoder.provider };
    } finally {
      await encoder.close();
    }
  } finally {
    await queue.close();
  }
}
