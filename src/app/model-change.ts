// Changing a library's model without losing search: `reembed` fills a second
// vector space with the new model while every search keeps to the active one;
// `use-model` (or `reembed --switch`) makes it active in one transaction once it
// is complete and rebuilds this machine's ANN index from it; `drop-model` frees
// the old vectors. A killed reembed resumes: the queue is "embedded images
// without a vector in the new space", which every commit shrinks.
import type { Catalog } from '../catalog/ports.js';
import { describeModel, reembedCommand, SpaceStateError, type SpaceProgress, type VectorSpace } from '../catalog/types.js';
import { parseDtype, parseModelArg, sameSpec, type ModelSpec } from '../model/model-files.js';
import { embedPending, type EmbedOptions, type EmbedReport } from '../pipeline/embed.js';
import { pathMapper, type PathMapping } from '../pipeline/path-map.js';
import { refreshIndex } from './index-service.js';
import type { Library } from './library.js';
import type { ModelLoader } from './model-loader.js';

export interface ReembedRequest extends Omit<EmbedOptions, 'localPath' | 'onProgress' | 'onFailure'> {
  /** The new model: a hub id or a model directory. */
  model: string;
  dtype?: string;
  retryFailed?: boolean;
  pathMap?: readonly PathMapping[];
}

export interface ReembedEvents {
  /** The space being filled and how many images it still lacks, once the model is loaded. */
  onStart?: (space: VectorSpace, missing: number) => void;
  onProgress?: (done: number) => void;
  onFailure?: (path: string, reason: string) => void;
}

export interface ReembedOutcome {
  space: VectorSpace;
  /** What this run did; null when the space already had every vector. */
  report: EmbedReport | null;
  progress: SpaceProgress;
}

/** The model a --model/--dtype pair names (dtype fp32 unless given). */
export function requestedSpec(model: string, dtype?: string): ModelSpec {
  return { id: parseModelArg(model), dtype: parseDtype(dtype ?? 'fp32') };
}

/** Embeds every embedded image that lacks a vector from `request.model` into that model's space. */
export async function reembedLibrary(
  catalog: Catalog,
  loader: ModelLoader,
  request: ReembedRequest,
  events: ReembedEvents = {},
): Promise<ReembedOutcome> {
  const spec = requestedSpec(request.model, request.dtype);
  // Refuse what the library's state refuses before loading (or downloading) a model.
  refuseEarly(await catalog.models.spaces(), spec);
  const encoder = await loader.imageEncoder(spec);
  try {
    const space = await catalog.models.beginSpace({ id: spec.id, dtype: spec.dtype, dims: encoder.dims });
    const queue = catalog.spaceQueue(space.id);
    try {
      if (request.retryFailed) await queue.retryFailed();
      const missing = await queue.pendingCount();
      events.onStart?.(space, missing);
      const report =
        missing === 0
          ? null
          : await embedPending(queue, encoder, {
              ...request,
              localPath: pathMapper(request.pathMap ?? []),
              onProgress: (p) => events.onProgress?.(p.done),
              onFailure: events.onFailure,
            });
      return { space, report, progress: await catalog.models.spaceProgress(space.id) };
    } finally {
      await queue.close();
    }
  } finally {
    await encoder.close();
  }
}

function refuseEarly(spaces: readonly VectorSpace[], spec: ModelSpec): void {
  const active = spaces.find((s) => s.state === 'active');
  if (!active) {
    throw new SpaceStateError(
      `the library has no model yet, so there is nothing to re-embed: index it with this model directly (picsift index DIR --model ${spec.id})`,
    );
  }
  if (sameSpec(active.model, spec))
    throw new SpaceStateError(`${describeModel(active.model)} is already the library's model: nothing to re-embed`);
  const building = spaces.find((s) => s.state === 'building');
  if (building && !sameSpec(building.model, spec)) {
    throw new SpaceStateError(
      `the library is already being re-embedded with ${describeModel(building.model)}; finish that first ` +
        `(\`${reembedCommand(building.model)}\`) or drop it (\`${dropCommand(building)}\`)`,
    );
  }
}

/** The library's space of `model` (and `dtype`, needed only when several spaces share the id). */
export async function findSpace(catalog: Catalog, model: string, dtype?: string): Promise<VectorSpace> {
  const id = parseModelArg(model);
  const spaces = await catalog.models.spaces();
  const matching = spaces.filter((s) => s.model.id === id && (dtype === undefined || s.model.dtype === parseDtype(dtype)));
  if (matching.length === 1) return matching[0];
  if (matching.length > 1) {
    throw new SpaceStateError(`the library has ${id} in ${matching.map((s) => s.model.dtype).join(' and ')}; say which with --dtype`);
  }
  const known = spaces.map((s) => `${describeModel(s.model)}, ${s.state}`).join('; ');
  throw new SpaceStateError(
    `the library has no vectors from ${id}${dtype ? ` (${dtype})` : ''}${known ? ` (it has: ${known})` : ''}; ` +
      `\`${reembedCommand({ id, dtype: dtype ?? 'fp32' })}\` makes them`,
  );
}

export interface SwitchOutcome {
  from: VectorSpace | null;
  to: VectorSpace;
  /** Vectors in this machine's rebuilt index (null when nothing is embedded). */
  indexed: number | null;
}

/**
 * Makes `space` the library's model (refused, saying how many are left, unless it
 * is complete) and rebuilds this machine's ANN index from its vectors.
 */
export async function switchModel(library: Library, space: VectorSpace): Promise<SwitchOutcome> {
  const from = await library.catalog.models.activeSpace();
  if (from?.id === space.id) throw new SpaceStateError(`${describeModel(space.model)} is already the library's model`);
  await library.catalog.models.activateSpace(space.id);
  const built = await refreshIndex(library.catalog, library.paths, { rebuild: true });
  return { from, to: { ...space, state: 'active' }, indexed: built?.manifest.count ?? null };
}

/** Deletes a building or retired space's vectors; returns how many. */
export async function dropModel(catalog: Catalog, space: VectorSpace): Promise<number> {
  if (space.state === 'active') {
    throw new SpaceStateError(
      `${describeModel(space.model)} is the library's model; switch to another one first (picsift use-model MODEL), then drop this one`,
    );
  }
  return catalog.models.dropSpace(space.id);
}

/** The command that drops a space. */
export function dropCommand(space: VectorSpace): string {
  return `picsift drop-model ${space.model.id}${space.model.dtype === 'fp32' ? '' : ` --dtype ${space.model.dtype}`}`;
}

/** The command that switches to a space. */
export function useCommand(space: VectorSpace): string {
  return `picsift use-model ${space.model.id}${space.model.dtype === 'fp32' ? '' : ` --dtype ${space.model.dtype}`}`;
}
