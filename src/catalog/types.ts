// The catalogue's domain types: what picsift knows about images, vectors and
// models, independent of where it is stored. Every layer above speaks these;
// the backends (sqlite/, postgres/) translate them to rows.

/** `skipped`: a file that is not an image, kept with its reason so that `errors` accounts for every file. */
export type ImageStatus = 'pending' | 'embedded' | 'failed' | 'removed' | 'skipped';

/** EXIF facts kept in the catalogue (filters, the viewer); every field null when the photo has none. */
export interface ExifFacts {
  /** DateTimeOriginal (else CreateDate) as the camera's wall-clock time, "YYYY-MM-DDTHH:MM:SS". */
  takenAt: string | null;
  /** The camera's UTC offset at that time (EXIF OffsetTimeOriginal, e.g. "+02:00"), when it recorded one. */
  takenOffset: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
  /** EXIF orientation 1–8. */
  orientation: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
}

export const NO_EXIF: ExifFacts = {
  takenAt: null,
  takenOffset: null,
  cameraMake: null,
  cameraModel: null,
  orientation: null,
  gpsLat: null,
  gpsLon: null,
};

/** Which photos a search may return; resolved by the catalogue into image ids, before any ranking. */
export interface SearchFilter {
  /**
   * A glob over the absolute path, as SQLite's GLOB: "*" any characters (also
   * across "/"), "?" one character, "[…]" a class ("[^…]" negated); case-sensitive.
   * Or a folder: the path is it or under it.
   */
  path?: { glob: string } | { folder: string };
  /** Local wall-clock time "YYYY-MM-DDTHH:MM:SS", inclusive: date taken (EXIF), else file mtime in this machine's zone. */
  after?: string;
  /** Exclusive, same form as `after`. */
  before?: string;
  /** Case-insensitive substring of "make model". */
  camera?: string;
  minWidth?: number;
  minHeight?: number;
  /** Sniffed formats, e.g. ["jpg", "png"]. */
  formats?: string[];
}

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
  /** Sniffed from the file's content, e.g. "jpg", "png", "heic"; "none" for a non-image. */
  format: string;
  /** Why the file is not an image (then it is recorded as skipped, never embedded). */
  notImage?: string;
  /** Skipped because its name is not UTF-8 (then `path` shows its bytes escaped, and `notImage` says so). */
  unreadableName?: true;
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

export interface RegisterResult {
  added: number;
  /** Files that are not images (recorded as skipped, with the reason). */
  skipped: number;
  /** Known files whose content changed: back to pending. */
  changed: number;
  unchanged: number;
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
  /** EXIF facts stored at embed time (all null before embedding or for photos without EXIF). */
  exif: ExifFacts;
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
  kind: 'embedded-without-vector' | 'vector-wrong-dims' | 'vector-not-unit' | 'vector-without-embedded-image' | 'vector-of-unknown-space';
  imageId: number;
  path: string | null;
  /** The vector space of the vector concerned (absent for embedded-without-vector: the active space). */
  space?: number;
  detail: string;
}

export interface ModelIdentity {
  /** Hugging Face model id, or the absolute path of a model directory. */
  id: string;
  dtype: string;
  dims: number;
}

/** Two identities name the same vector space: the same model, variant and width. */
export function sameModel(a: ModelIdentity, b: ModelIdentity): boolean {
  return a.id === b.id && a.dtype === b.dtype && a.dims === b.dims;
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

/**
 * A vector of an embedded image. `position` orders vectors by commit: every
 * vector committed after another has a position at least as large, and a vector
 * that becomes visible later never has a position below a watermark handed out
 * earlier (see VectorStore.readForIndex). SQLite: the row's seq (one writer, so
 * seq order is commit order); PostgreSQL: the id of the inserting transaction.
 */
export interface StoredVector {
  id: number;
  position: number;
  vector: Float32Array;
}

/** Every column of an image and its vectors, for copying a catalogue between backends bit for bit. */
export interface CatalogRow extends ImageRecord {
  registeredAt: number;
  embeddedAt: number | null;
  seenScan: number;
  /** The image's vectors, per vector space (see VectorSpace). */
  vectors: { space: number; vector: Float32Array }[];
  /** Why the image could not be embedded in a space being filled (the image stays embedded in the active one). */
  spaceFailures: { space: number; reason: string }[];
}

/** What a catalogue holds besides its rows, copied by `picsift migrate`. */
export interface CatalogSettings {
  spaces: VectorSpace[];
  /** The last scan id handed out (ScanRegistry.beginScan). */
  lastScan: number;
}

/** A model's vectors in the catalogue. The active space is the one every search uses. */
export interface VectorSpace {
  id: number;
  model: ModelIdentity;
  state: 'active' | 'building' | 'retired';
}

/** How far a vector space is filled, over the library's embedded images. */
export interface SpaceProgress {
  /** Embedded images: each needs a vector (or a recorded failure) in the space. */
  embedded: number;
  /** Of those, how many have a vector in the space. */
  done: number;
  /** How many could not be embedded with the space's model (they stay embedded in the active space until a switch). */
  failed: number;
  /** embedded − done − failed: what `reembed` still has to do. */
  missing: number;
}

/** A model name for messages: "org/model (q8, 768-d)". */
export function describeModel(model: ModelIdentity): string {
  return `${model.id} (${model.dtype}, ${model.dims}-d)`;
}

/** The command that fills (or resumes filling) a space for `model`. */
export function reembedCommand(model: Pick<ModelIdentity, 'id' | 'dtype'>): string {
  return `picsift reembed --model ${model.id}${model.dtype === 'fp32' ? '' : ` --dtype ${model.dtype}`}`;
}

/** A request about vector spaces that the library's state refuses (the message says why and what to do). */
export class SpaceStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpaceStateError';
  }
}

/** A switch to a space that some embedded images still lack. */
export class SpaceIncompleteError extends SpaceStateError {
  constructor(
    readonly model: ModelIdentity,
    readonly missing: number,
  ) {
    super(
      `cannot switch to ${describeModel(model)} yet: ${missing.toLocaleString('en-US')} embedded image${missing === 1 ? '' : 's'} ` +
        `still lack${missing === 1 ? 's' : ''} its vector; run \`${reembedCommand(model)}\` to finish (it resumes where it stopped)`,
    );
    this.name = 'SpaceIncompleteError';
  }
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

/** Another process holds a lock this command needs; the message names it. */
export class CatalogBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogBusyError';
  }
}

/** The catalogue cannot be reached or opened: the message names it (password masked) and the fix. */
export class CatalogUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CatalogUnavailableError';
  }
}
