// Search, the one use case behind `search-text`, `search-image`, "more like this"
// and the API: a query (text terms, images, weights) becomes one vector with the
// library's model, and is ranked over the catalogue with filters and a cut-off.
// The CLI makes one for a single query; the server keeps one warm, so the text
// encoder is loaded once (and reloaded if the library changes model).
import type { Catalog } from '../catalog/ports.js';
import type { ImageRecord, ImageStatus } from '../catalog/types.js';
import type { ImageEncoder, TextEncoder } from '../model/encoders.js';
import type { ModelSpec } from '../model/model-files.js';
import { embedImageFile } from './image-query.js';
import type { IndexSource } from './index-source.js';
import { chooseModel, type ModelRequest } from './model-choice.js';
import type { ModelLoader } from './model-loader.js';
import { queryVector, type WeightedTerm } from './query-terms.js';
import { rankByVector, type RankOptions } from './ranking.js';
import type { SearchResult } from './search-results.js';

export interface Ranking {
  /** The model whose vectors were searched (the library's; the requested one while it has none). */
  model: string;
  results: SearchResult[];
  /** True when the library has no embedded image yet (the front end says how to index). */
  empty?: boolean;
}

/** Statuses of images that exist as far as search and the gallery are concerned. */
const SHOWN_STATUSES: ReadonlySet<ImageStatus> = new Set(['pending', 'embedded', 'failed']);

type EncoderKind = 'text' | 'image';
type Encoder = { close(): Promise<void> };

interface Loaded<T extends Encoder> {
  spec: ModelSpec;
  loading: Promise<T>;
}

export class SearchService {
  /** Shared by concurrent searches, so a model is loaded once even when several queries wait for it. */
  private readonly encoders = new Map<EncoderKind, Loaded<Encoder>>();

  constructor(
    readonly catalog: Catalog,
    readonly index: IndexSource,
    private readonly loader: ModelLoader,
    private readonly request: ModelRequest,
  ) {}

  /** The model searches use: the library's, or the requested one (the default) while it has none. */
  spec(): Promise<ModelSpec> {
    return chooseModel(this.catalog.models, this.catalog.location, this.request);
  }

  /** Loads the text encoder now, so the first query does not wait for it. */
  async warmUp(): Promise<void> {
    await this.textEncoder(await this.spec());
  }

  /**
   * Ranks by the combined query. Image terms may be catalogue ids, or files
   * (embedded on the fly, never added to the library) where the front end allows them.
   */
  async search(terms: readonly WeightedTerm[], options: RankOptions): Promise<Ranking> {
    const spec = await this.spec();
    // No model recorded means no vectors: nothing to rank, and no reason to load one.
    if (!(await this.catalog.models.model())) return { model: spec.id, results: [], empty: true };
    const needs = (kind: 'text' | 'file'): boolean =>
      terms.some((t) => (kind === 'text' ? 'text' in t.source : 'image' in t.source && 'path' in t.source.image));
    // The encoders load (in their own threads) while the catalogue and the index are read.
    const loading = Promise.all([needs('text') ? this.textEncoder(spec) : null, needs('file') ? this.imageEncoder(spec) : null]);
    loading.catch(() => {}); // awaited below
    const [embedded] = await Promise.all([this.catalog.vectors.hasEmbedded(), this.index.current()]);
    if (!embedded) return { model: spec.id, results: [], empty: true };
    const [text, image] = await loading;
    const vector = await queryVector(this.catalog, terms, {
      encodeTexts: (texts) => text!.encode(texts),
      encodeImageFile: image ? (path) => embedImageFile(image, path) : undefined,
    });
    return { model: spec.id, results: await rankByVector(this.catalog, await this.index.current(), vector, options) };
  }

  /** The images nearest to image `id`'s own vector, without itself; null when it has no vector. */
  async similar(id: number, options: Omit<RankOptions, 'exclude'>): Promise<Ranking | null> {
    const own = (await this.catalog.vectors.vectorsOf([id])).get(id);
    const model = await this.catalog.models.model();
    if (!own || !model) return null;
    return {
      model: model.id,
      results: await rankByVector(this.catalog, await this.index.current(), own.vector, { ...options, exclude: id }),
    };
  }

  /** A catalogued image; removed files and skipped non-images do not exist as far as search is concerned. */
  async imageRecord(id: number): Promise<ImageRecord | null> {
    const record = (await this.catalog.images.get([id])).get(id);
    return record && SHOWN_STATUSES.has(record.status) ? record : null;
  }

  async close(): Promise<void> {
    const loaded = await Promise.all([...this.encoders.values()].map((e) => e.loading.catch(() => null)));
    this.encoders.clear();
    await Promise.all(loaded.flatMap((encoder) => (encoder ? [encoder.close()] : [])));
  }

  private textEncoder(spec: ModelSpec): Promise<TextEncoder> {
    return this.encoder('text', spec, () => this.loader.textEncoder(spec));
  }

  private imageEncoder(spec: ModelSpec): Promise<ImageEncoder> {
    return this.encoder('image', spec, () => this.loader.imageEncoder(spec));
  }

  /** The loaded encoder if it is for `spec`; else a new load (the old encoder is closed). A failed load is retried next time. */
  private encoder<T extends Encoder>(kind: EncoderKind, spec: ModelSpec, load: () => Promise<T>): Promise<T> {
    const current = this.encoders.get(kind);
    if (current && current.spec.id === spec.id && current.spec.dtype === spec.dtype) return current.loading as Promise<T>;
    if (current)
      void current.loading.then(
        (old) => old.close(),
        () => {},
      );
    const entry: Loaded<T> = { spec, loading: load() };
    this.encoders.set(kind, entry);
    entry.loading.catch(() => {
      if (this.encoders.get(kind) === entry) this.encoders.delete(kind);
    });
    return entry.loading;
  }
}
