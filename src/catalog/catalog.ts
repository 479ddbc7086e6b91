// The catalogue interface: the single source of truth for what picsift knows.
// Everything else (ANN index, thumbnails, exports) is derived from it. The SQLite
// implementation lives in sqlite-catalog.ts; a PostgreSQL one can implement the
// same interface for users who outgrow one machine.
import type { ExifFacts } from '../imaging/exif.js';
import type { SearchFilter } from '../search/search-filter.js';

/** `skipped`: a file that is not an image, kept with its reason so that `errors` accounts for every file. */
export type ImageStatus = 'pending' | 'embedded' | 'failed' | 'removed' | 'skipped';

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
  /** Sniffed from the file's content, e.g. "jpg", "png", "heic"; "none" for a non-image. */
  format: string;
  /** Why the file is not an image (then it is recorded as skipped, never embedded). */
  notImage?: string;
  /**
   * Set by the scan only for a known file whose size or mtime changed: when it
   * equals the recorded hash the content is the same and the vector is kept.
   */
  contentHash?: string;
}

export interface KnownFile {
  size: number;
  mtimeMs: number;
  status: ImageStatus;
  contentHash: string | null;
}

/** An image adopted from another tool's library, with its vector when it had one. */
export interface ImportedImage {
  path: string;
  size: number;
  mtimeMs: number;
  format: string;
  width: number | null;
  height: number | null;
  vector: Float32Array | null;
}

export interface FailedFile {
  id: number;
  path: string;
  reason: string;
}

export interface CatalogProblem {
  kind: 'embedded-without-vector' | 'vector-wrong-dims' | 'vector-not-unit' | 'vector-without-embedded-image';
  imageId: number;
  path: string | null;
  detail: string;
}

export interface ImageRecord {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  format: string;
  status: ImageStatus;
  width: number | null;
  height: number | null;
  contentHash: string | null;
  error: string | null;
  /** EXIF facts stored at embed time (null before embedding or for photos without EXIF). */
  exif?: ExifFacts;
}

export interface ModelIdentity {
  /** Hugging Face model id, or the absolute path of a model directory. */
  id: string;
  dtype: string;
  dims: number;
}

export interface EmbeddedImage {
  id: number;
  /** Size and mtime of the bytes that were embedded (the file may have changed since the scan). */
  size: number;
  mtimeMs: number;
  vector: Float32Array;
  width: number;
  height: number;
  contentHash: string;
  /** EXIF facts of the embedded bytes; absent (a reused vector): copied from the image with identical content. */
  exif?: ExifFacts;
}

export interface ReusableVector {
  vector: Float32Array;
  width: number;
  height: number;
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
  /** Files that are not images (recorded as skipped, with the reason). */
  skipped: number;
  /** Known files whose content changed: back to pending. */
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
  /** Starts a scan: files registered with its id count as seen by it. */
  beginScan(): number;
  /** What the catalogue knows of these paths (to decide which changed files to hash). */
  knownFiles(paths: readonly string[]): Map<string, KnownFile>;
  /** Records files found by a scan; changed files go back to pending. One transaction. */
  registerFiles(files: readonly ScannedFile[], scanId: number): RegisterResult;
  /** Marks images under `root` that scan `scanId` did not see as removed; returns how many. */
  markUnseenRemoved(root: string, scanId: number): number;
  /** Deletes every image under `root` (and its vector) from the library; returns how many. */
  forget(root: string): number;
  /** Failed images, and skipped non-image files, with their reasons. */
  failures(): { failed: FailedFile[]; skipped: FailedFile[] };
  /** Puts failed images back in the embed queue; returns how many. */
  retryFailed(): number;
  /** A stored vector of identical content (same SHA-256), if any: reused instead of re-embedding. */
  vectorForContent(contentHash: string): ReusableVector | null;
  /** Consistency problems between images and vectors (see picsift verify). */
  verify(dims: number): CatalogProblem[];
  /** Fixes problems by dropping bad vectors and re-queueing their images; never guesses a vector. */
  repair(problems: readonly CatalogProblem[]): void;
  /** Pending images with id > afterId, in id order: the embed queue. */
  pendingImages(afterId: number, limit: number): ImageRecord[];
  /** Stores vectors and failures atomically: a vector exists iff its image is marked embedded. */
  commitBatch(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): void;
  /** The model that made this library's vectors, or null for a new library. */
  model(): ModelIdentity | null;
  /** Records the library's model; throws ModelMismatchError if another model is recorded. */
  claimModel(model: ModelIdentity): void;
  counts(): StatusCounts;
  /** Whether any image is embedded: what a search needs to know, without counting a million rows. */
  hasEmbedded(): boolean;
  images(ids: readonly number[]): Map<number, ImageRecord>;
  /** Vectors of embedded images committed after `seq`, in seq order (index refresh, exact search). */
  vectorsAfter(seq: number): IterableIterator<StoredVector>;
  /** The vectors of the given images, embedded ones only (removed images are never search results). */
  vectorsOf(ids: readonly number[]): Map<number, StoredVector>;
  /** Number of embedded images whose vector has seq ≤ `seq`. */
  countVectorsUpTo(seq: number): number;
  /** Ids of embedded images that pass the filter (resolved in the database, before any ranking). */
  matchingImageIds(filter: SearchFilter): number[];
  /** Groups (two or more) of embedded images with identical content (same SHA-256), ids ascending. */
  identicalContentGroups(): number[][];
  /** Adds adopted images in one transaction; paths already in the library are left alone. */
  importImages(images: readonly ImportedImage[]): { embedded: number; pending: number; skipped: number };
  /** Every image that is not removed, in id order, with its vector if embedded. */
  exportImages(): IterableIterator<ImageRecord & { vector: Float32Array | null }>;
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
