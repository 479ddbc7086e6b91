// Search, the one use case behind `search-text`, `search-image`, "more like this"
// and the API: a query (text terms, images, weights) becomes one vector with the
// library's model, and is ranked over the catalogue with filters and a cut-off.
// The CLI makes one for a single query; the server keeps one warm, so the text
// encoder is loaded once (and reloaded if the library changes model).
import type { Catalog, VectorStore } from '../catalog/ports.js';
import type { ImageRecord, ImageStatus, VectorSpace } from '../catalog/types.js';
import type { ImageEncoder, TextEncoder } from '../model/encoders.js';
import { sameSpec, type ModelSpec } from '../model/model-files.js';
import { vocabularyScripts, type VocabularyScripts } from '../model/vocabulary-scripts.js';
import { relevanceCutoff } from '../search/relevance-cutoff.js';
import { embedImageFile } from './image-query.js';
import type { IndexSource } from './index-source.js';
import { languageNotice, scriptsOf, type LanguageNotice } from './language-notice.js';
import { LibrarySample } from './library-sample.js';
import { chooseModel, modelFor, type ModelRequest } from './model-choice.js';
import type { ModelLoader } from './model-loader.js';
import { queryVector, type WeightedTerm } from './query-terms.js';
import { rankByVector, type Cutoff, type RankedResults, type RankOptions } from './ranking.js';

export interface Ranking extends RankedResults {
  /** The model whose vectors were searched (the library's; the requested one while it has none). */
  model: string;
  /** True when the library has no embedded image yet (the front end says how to index). */
  empty?: boolean;
  /** Said when the query is in a script the model was not trained on (the search still runs). */
  notice?: LanguageNotice;
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
  /** What the cut-off calibrates against, kept while the server runs. */
  private readonly sample = new LibrarySample();
  /** Which scripts each model's vocabulary reads, by model id and dtype (read once). */
  private readonly vocabularies = new Map<string, Promise<VocabularyScripts | null>>();

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
   * The whole search keeps to the space that was active when it began, so a model
   * switch meanwhile never mixes two models' vectors in one answer.
   */
  async search(terms: readonly WeightedTerm[], options: RankOptions): Promise<Ranking> {
    // The active space read once: its model is the one searched (and a --model that differs is refused).
    const space = await this.catalog.models.activeSpace();
    const searched = modelFor(space?.model ?? null, this.catalog.location, this.request);
    // No model recorded means no vectors: nothing to rank, and no reason to load one.
    if (!space) return { model: searched.id, ...nothingFound(options) };
    const store = this.catalog.vectorsIn(space.id);
    const needs = (kind: 'text' | 'file'): boolean =>
      terms.some((t) => (kind === 'text' ? 'text' in t.source : 'image' in t.source && 'path' in t.source.image));
    // The encoders load (in their own threads) while the catalogue and the index are read.
    let started = (): void => {};
    const textThreadStarted = new Promise<void>((resolve) => (started = resolve));
    const loading = Promise.all([
      needs('text') ? this.textEncoder(searched, started) : null,
      needs('file') ? this.imageEncoder(searched) : null,
    ]);
    loading.catch(() => {}); // awaited below
    // The index and the sample are read synchronously, blocking this thread: the text
    // model's thread is started first (its module import and the model's files take
    // a few turns of the event loop). A cold search-text at 1M photos started it
    // 452 ms in, behind those reads, then waited ~700 ms for it.
    if (needs('text')) await Promise.race([textThreadStarted, loading]).catch(() => {});
    // So is the cut-off's sample (a command-line search draws it afresh).
    const [embedded] = await Promise.all([
      this.catalog.vectors.hasEmbedded(),
      this.index.current(space.model),
      this.sample.prepare(store, space.id),
    ]);
    if (!embedded) return { model: searched.id, ...nothingFound(options) };
    const [text, image] = await loading;
    const vector = await queryVector({ vectors: store, images: this.catalog.images }, terms, {
      encodeTexts: (texts) => text!.encode(texts),
      encodeImageFile: image ? (path) => embedImageFile(image, path) : undefined,
    });
    const notice = await this.languageNotice(searched, terms);
    const ranked = await this.rank(space, store, vector, options);
    return { model: space.model.id, ...ranked, ...(notice ? { notice } : {}) };
  }

  /** The images nearest to image `id`'s own vector, without itself; null when it has no vector. */
  async similar(id: number, options: Omit<RankOptions, 'exclude'>): Promise<Ranking | null> {
    const space = await this.catalog.models.activeSpace();
    if (!space) return null;
    const store = this.catalog.vectorsIn(space.id);
    const own = (await store.vectorsOf([id])).get(id);
    if (!own) return null;
    return { model: space.model.id, ...(await this.rank(space, store, own.vector, { ...options, exclude: id })) };
  }

  private async rank(space: VectorSpace, store: VectorStore, vector: Float32Array, options: RankOptions): Promise<RankedResults> {
    const cutoff =
      options.threshold !== undefined
        ? { score: options.threshold, source: 'threshold' as const }
        : await this.cutoff(space, store, vector);
    const index = await this.index.current(space.model);
    return rankByVector({ vectors: store, images: this.catalog.images }, index, vector, options, cutoff);
  }

  /** The adaptive cut-off of this query, calibrated on its scores over the library sample. */
  private async cutoff(space: VectorSpace, store: VectorStore, vector: Float32Array): Promise<Cutoff> {
    const found = relevanceCutoff(await this.sample.scores(store, space.id, vector));
    return found.basis === 'uncalibrated' ? { score: -1, source: 'uncalibrated' } : { score: found.score, source: 'adaptive' };
  }

  /** A notice when the query's texts are in a script the model's vocabulary does not cover; read from its tokenizer once per model. */
  private async languageNotice(spec: ModelSpec, terms: readonly WeightedTerm[]): Promise<LanguageNotice | null> {
    const texts = terms.flatMap((t) => ('text' in t.source ? [t.source.text] : []));
    // Latin letters (or none) need no look at the vocabulary: the check costs nothing for most queries.
    if (scriptsOf(texts).every((s) => s === 'Latin')) return null;
    const key = `${spec.id}|${spec.dtype}`;
    let vocabulary = this.vocabularies.get(key);
    if (!vocabulary) {
      vocabulary = this.loader.resolve(spec).then(
        (resolved) => vocabularyScripts(resolved.dir),
        () => null,
      );
      this.vocabularies.set(key, vocabulary);
    }
    const scripts = await vocabulary;
    return scripts ? languageNotice(spec, scripts, texts) : null;
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

  private textEncoder(spec: ModelSpec, onThreadStarted?: () => void): Promise<TextEncoder> {
    return this.encoder('text', spec, () => this.loader.textEncoder(spec, onThreadStarted));
  }

  private imageEncoder(spec: ModelSpec): Promise<ImageEncoder> {
    return this.encoder('image', spec, () => this.loader.imageEncoder(spec));
  }

  /** The loaded encoder if it is for `spec`; else a new load (the old encoder is closed). A failed load is retried next time. */
  private encoder<T extends Encoder>(kind: EncoderKind, spec: ModelSpec, load: () => Promise<T>): Promise<T> {
    const current = this.encoders.get(kind);
    if (current && sameSpec(current.spec, spec)) return current.loading as Promise<T>;
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

/** The model of a space, as the loader takes it. */
/** The answer for a library with nothing embedded yet. */
function nothingFound(options: RankOptions): Omit<Ranking, 'model'> {
  const cutoff: Cutoff =
    options.threshold !== undefined ? { score: options.threshold, source: 'threshold' } : { score: -1, source: 'uncalibrated' };
  return { results: [], cutoff, matches: 0, weaker: 0, empty: true };
}
