// The thread an IndexRefresher builds in: it opens the catalogue itself (its own
// connection) and runs build-index's refresh, so that usearch's synchronous adds
// (about 7 s of CPU for 10,000 vectors into a 1M index) never stop the event loop
// that answers searches. It runs at a lower CPU priority than the thread that
// created it, where the system allows (Linux: per thread), so queries come first.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openCatalog, type CatalogTarget } from '../catalog/open-catalog.js';
import { IndexBusyError } from '../index/ann-index.js';
import { refreshIndex } from './index-service.js';

export interface BuildRequest {
  target: CatalogTarget;
  indexDir: string;
  /** The nice value this thread takes (0: none). */
  nice: number;
}

export type BuildReply =
  | { kind: 'built'; added: number; count: number; upTo: number; refreshed: boolean; seconds: number }
  | { kind: 'nothing' }
  | { kind: 'busy'; message: string }
  | { kind: 'failed'; message: string };

const request = workerData as BuildRequest;

async function build(): Promise<BuildReply> {
  if (request.nice > 0) {
    try {
      setPriority(0, Math.min(19, request.nice));
    } catch {
      // Not allowed here: build at the normal priority.
    }
  }
  const started = performance.now();
  const catalog = await openCatalog(request.target, { mustExist: true });
  try {
    const result = await refreshIndex(catalog, { index: request.indexDir });
    if (!result) return { kind: 'nothing' };
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: 'built',
      added: result.added,
      count: result.manifest.count,
      upTo: result.manifest.upTo,
      refreshed: result.refreshed,
      seconds,
    };
  } catch (err) {
    if (err instanceof IndexBusyError) return { kind: 'busy', message: err.message };
    throw err;
  } finally {
    await catalog.close();
  }
}

build().then(
  (reply) => parentPort!.postMessage(reply),
  (err: unknown) => parentPort!.postMessage({ kind: 'failed', message: (err as Error).message ?? String(err) } satisfies BuildReply),
);
