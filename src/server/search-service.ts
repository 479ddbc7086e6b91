// What the server keeps warm between requests: the catalogue, the text encoder
// and the ANN index. It calls the same core as the CLI and adds only what a
// long-running process needs: picking up a rebuilt index, and loading the model
// late when the library had none at start.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { chooseModel, type ModelRequest } from '../app/model-choice.js';
import { libraryStatus, type LibraryStatus } from '../app/status.js';
import type { SearchResult } from '../app/search-results.js';
import type { Catalog, ImageRecord, ImageStatus } from '../catalog/catalog.js';
import { AnnIndex } from '../index/ann-index.js';
import { openLibrary, type LibraryPaths } from '../library.js';
import { TextEncoder } from '../model/encoders.js';
import { resolveModel, type ModelSpec } from '../model/model-files.js';
import { rankByVector, type RankOptions } from '../app/ranking.js';
import { queryVector, type WeightedTerm } from '../app/query-terms.js';
import { findDuplicates, type DuplicateGroup } from '../app/duplicates.js';

export interface Ranking {
  /** The model whose vectors were searched (the library's; the requested one while it has none). */
  model: string;
  results: SearchResult[];
}

const SHOWN_STATUSES: ReadonlySet<ImageStatus> = new Set(['pending', 'embedded', 'failed']);

function sameSpec(a: ModelSpec, b: ModelSpec): boolean {
  return a.id === b.id && a.dtype === b.dtype;
}

interface LoadedEncoder {
  spec: ModelSpec;
  encoder: TextEncoder;
}

export class SearchService {
  /** Shared by concurrent searches, so a model is loaded once even when several queries wait for it. */
  private encoder: { spec: ModelSpec; loading: Promise<LoadedEncoder> } | null = null;
  private index: AnnIndex | null = null;
  /** mtime and size of index/manifest.json when `index` was opened: a rebuild rewrites it. */
  private indexStamp = '';

  private constructor(
    readonly catalog: Catalog,
    readonly paths: LibraryPaths,
    private readonly request: ModelRequest,
    private readonly say: (line: string) => void,
  ) {}

  /**
   * Opens the library and, when it has a model (or one was asked for), loads the
   * text encoder, so the first query does not wait for it. Throws if the
   * requested model is not the library's.
   */
  static async open(library: string, request: ModelRequest, say: (line: string) => void = () => {}): Promise<SearchService> {
    const { catalog, paths } = openLibrary(library);
    const service = new SearchService(catalog, paths, request, say);
    try {
      const spec = chooseModel(catalog, request);
      service.refreshIndex();
      // A new library without --model would download the default model just to
      // answer "no photos yet"; wait until the library has vectors instead.
      if (catalog.model() || request.model !== undefined) await service.loadEncoder(spec);
    } catch (err) {
      await service.close();
      throw err;
    }
    return service;
  }

  status(): LibraryStatus {
    return libraryStatus(this.catalog, this.paths);
  }

  /** Catalogued images only: removed files and skipped non-images are not there as far as the server is concerned. */
  image(id: number): ImageRecord | null {
    const record = this.catalog.images([id]).get(id);
    return record && SHOWN_STATUSES.has(record.status) ? record : null;
  }

  /**
   * Ranks by the combined query (text terms and catalogued images; files are not
   * accepted from the network), with the filter and cut-off of `options`.
   */
  async search(terms: readonly WeightedTerm[], options: RankOptions): Promise<Ranking> {
    const recorded = this.catalog.model();
    // No model recorded means no vectors: nothing to rank, and no reason to load one.
    if (!recorded) return { model: chooseModel(this.catalog, this.request).id, results: [] };
    const needsText = terms.some((t) => 'text' in t.source);
    const loaded = needsText ? await this.currentEncoder() : null;
    const vector = await queryVector(this.catalog, terms, { encodeTexts: (texts) => loaded!.encoder.encode(texts) });
    return { model: loaded?.spec.id ?? recorded.id, results: rankByVector(this.catalog, this.currentIndex(), vector, options) };
  }

  /** The images nearest to image `id`'s own vector, without itself; null when it has no vector. */
  similar(id: number, k: number, options: Omit<RankOptions, 'k' | 'exclude'> = {}): Ranking | null {
    const own = this.catalog.vectorsOf([id]).get(id);
    const model = this.catalog.model();
    if (!own || !model) return null;
    return { model: model.id, results: rankByVector(this.catalog, this.currentIndex(), own.vector, { ...options, k, exclude: id }) };
  }

  /** Groups of identical files and near-duplicates (see picsift duplicates). */
  duplicates(threshold: number): DuplicateGroup[] {
    return findDuplicates(this.catalog, this.currentIndex(), { threshold });
  }

  async close(): Promise<void> {
    const loaded = await this.encoder?.loading.catch(() => null);
    this.encoder = null;
    await loaded?.encoder.close();
    this.catalog.close();
  }

  /** The encoder for the library's current model, (re)loaded if the library got a model after start. */
  private async currentEncoder(): Promise<LoadedEncoder> {
    const spec = chooseModel(this.catalog, this.request);
    const current = this.encoder;
    if (current && sameSpec(current.spec, spec)) return current.loading;
    if (current)
      void current.loading.then(
        (old) => old.encoder.close(),
        () => {},
      );
    return this.loadEncoder(spec);
  }

  private loadEncoder(spec: ModelSpec): Promise<LoadedEncoder> {
    const loading = (async () => {
      const resolved = await resolveModel(spec, {
        cacheDir: this.paths.modelCache,
        onDownload: (id) => this.say(`downloading model ${id} into ${this.paths.modelCache} (once; later runs work offline)…`),
      });
      return { spec, encoder: await TextEncoder.load(resolved) };
    })();
    const entry = { spec, loading };
    this.encoder = entry;
    // A failed load is retried by the next search instead of being remembered.
    loading.catch(() => {
      if (this.encoder === entry) this.encoder = null;
    });
    return loading;
  }

  /** The index, reopened when `build-index` has replaced it since we opened it. */
  private currentIndex(): AnnIndex | null {
    if (this.manifestStamp() !== this.indexStamp) this.refreshIndex();
    return this.index;
  }

  private refreshIndex(): void {
    this.indexStamp = this.manifestStamp();
    this.index = AnnIndex.open(this.paths.index);
  }

  private manifestStamp(): string {
    try {
      const info = statSync(join(this.paths.index, 'manifest.json'));
      return `${info.mtimeMs}:${info.size}:${info.ino}`;
    } catch {
      return 'none';
    }
  }
}
