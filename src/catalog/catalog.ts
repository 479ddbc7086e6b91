// The catalogue interface: the single source of truth for what picsift knows.
// Everything else (ANN index, thumbnails, exports) is derived from it. The SQLite
// implementation lives in sqlite-catalog.ts; a PostgreSQL one can implement the
// same interface for users who outgrow one machine.

export type ImageStatus = 'pending' | 'embedded' | 'failed' | 'removed';

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
  /** Sniffed from the file's content, e.g. "jpg", "png", "heic". */
  format: string;
}

export interface ImageRecord extends ScannedFile {
  id: number;
  status: ImageStatus;
  width: number | null;
  height: number | null;
  contentHash: string | null;
  error: string | null;
}

export interface ModelIdentity {
  /** Hugging Face model id, or the absolute path of a model directory. */
  id: string;
  dtype: string;
  dims: number;
}

export interface EmbeddedImage {
  id: number;
  vector: Float32Array;
  width: number;
  height: number;
  contentHash: string;
}

export interface FailedImage {
  id: number;
  reason: string;
}

export interface StatusCounts {
  images: number;
  embedded: number;
  pending: number;
  failed: number;
}

export interface RegisterResult {
  added: number;
  changed: number;
  unchanged: number;
}

export interface StoredVector {
  id: number;
  /** Monotonic commit sequence: every (re-)embedding gets a new, larger seq. */
  seq: number;
  vector: Float32Array;
}

export interface Catalog {
  readonly location: string;
  /** Records files found by a scan; changed files go back to pending. One transaction. */
  registerFiles(files: readonly ScannedFile[]): RegisterResult;
  /** Pending images with id > afterId, in id order: the embed queue. */
  pendingImages(afterId: number, limit: number): ImageRecord[];
  /** Stores vectors and failures atomically: a vector exists iff its image is marked embedded. */
  commitBatch(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): void;
  /** The model that made this library's vectors, or null for a new library. */
  model(): ModelIdentity | null;
  /** Records the library's model; throws ModelMismatchError if another model is recorded. */
  claimModel(model: ModelIdentity): void;
  counts(): StatusCounts;
  images(ids: readonly number[]): Map<number, ImageRecord>;
  /** Vectors committed after `seq`, in seq order (for index refresh and exact search). */
  vectorsAfter(seq: number): IterableIterator<StoredVector>;
  /** The current vectors of the given images (embedded ones only). */
  vectorsOf(ids: readonly number[]): Map<number, StoredVector>;
  /** Number of current vectors with seq ≤ `seq`. */
  countVectorsUpTo(seq: number): number;
  close(): void;
}

export class ModelMismatchError extends Error {
  constructor(library: string, recorded: ModelIdentity, requested: { id: string; dtype: string; dims?: number }) {
    super(
      `library ${library} holds vectors from model ${recorded.id} (${recorded.dtype}, ${recorded.dims}-d); ` +
        `refusing to mix them with ${requested.id} (${requested.dtype}${requested.dims ? `, ${requested.dims}-d` : ''}). ` +
        `Use another --library for that model, or omit --model/--dtype to use the library's own.`,
    );
    this.name = 'ModelMismatchError';
  }
}
