// The catalogue's ports: narrow, Promise-based interfaces grouped by use. The
// application services take only the ports they need; openCatalog() picks the
// backend (SQLite in the library folder, or PostgreSQL for several machines) and
// nothing outside src/catalog knows which one it talks to.
//
// Contract notes that every backend keeps (test/unit/catalog-contract.test.ts checks them):
// - A vector is committed in the same transaction as the mark that says its image
//   is embedded; a vector exists iff its image is embedded (or removed, kept for reuse).
// - Vectors are stored exactly: the float32 bytes that went in come out.
// - Positions are commit-ordered (see StoredVector): an index that holds every
//   vector below a watermark misses exactly the vectors `tail(watermark)` returns.
import type {
  CatalogProblem,
  CatalogRow,
  CatalogSettings,
  EmbeddedImage,
  FailedFile,
  FailedImage,
  ImageRecord,
  ImportedImage,
  KnownFile,
  ModelIdentity,
  RegisterResult,
  ReusableVector,
  ScannedFile,
  SearchFilter,
  SpaceProgress,
  StatusCounts,
  StoredVector,
  VectorSpace,
} from './types.js';

/** Registration of scanned files (the scan stage's writer). */
export interface ScanRegistry {
  /** Starts a scan: files registered with its id count as seen by it. */
  beginScan(): Promise<number>;
  /** What the catalogue knows of these paths (to decide which changed files to hash). */
  knownFiles(paths: readonly string[]): Promise<Map<string, KnownFile>>;
  /** Records files found by a scan; changed files go back to pending. One transaction. */
  registerFiles(files: readonly ScannedFile[], scanId: number): Promise<RegisterResult>;
  /** Marks images under `root` that scan `scanId` did not see as removed; returns how many. */
  markUnseenRemoved(root: string, scanId: number): Promise<number>;
  /** Remembers folders (or files) that were scanned, so that a watcher given none can watch the library's own. */
  recordRoots(roots: readonly string[]): Promise<void>;
  /** The scanned roots recorded so far (less those forgotten), sorted. */
  roots(): Promise<string[]>;
}

/** How long a claim stays a worker's without renewal, unless EmbedQueueOptions.leaseMs says otherwise. */
export const DEFAULT_LEASE_MS = 60_000;

export interface EmbedQueueOptions {
  /**
   * How long a claim stays this worker's without renewal (PostgreSQL; the queue
   * renews its claims in the background every third of this). Default 60 s.
   */
  leaseMs?: number;
  /** Who claims, shown to other processes (e.g. "host-a pid 4711"). */
  worker?: string;
}

export interface CommitOutcome {
  /** Images whose vector was committed. */
  embedded: number;
  /** Images whose failure was committed. */
  failed: number;
  /**
   * Images not committed because this queue session no longer held them: its
   * lease expired and another worker took them over (PostgreSQL), or a re-scan
   * found the file changed since it was claimed.
   */
  lost: number;
}

/**
 * One worker's view of the images waiting for a vector. SQLite has one writer, so
 * claims are a cursor over pending images; PostgreSQL claims with leases
 * (`FOR UPDATE SKIP LOCKED`), so any number of workers can share the queue, and
 * a worker that dies loses only its claims, which others take once they expire.
 */
export interface EmbedQueue {
  /** Pending images in the whole catalogue (claimed or not). */
  pendingCount(): Promise<number>;
  /** Claims up to `limit` pending images not claimed by a live worker, in id order; [] when none are left. */
  claim(limit: number): Promise<ImageRecord[]>;
  /**
   * Pending images that other workers hold live claims on (PostgreSQL; SQLite: 0).
   * A worker with nothing left to claim waits while this is above zero: if one of
   * those workers has died, its claims expire and this one takes them over.
   */
  claimedElsewhere(): Promise<number>;
  /**
   * Stores vectors and failures of claimed images atomically: a vector exists iff
   * its image is marked embedded. Only images claimed by this queue session, and
   * still held by it, are written (SQLite, with its one writer, also accepts a
   * pending image it did not claim).
   */
  commit(embedded: readonly EmbeddedImage[], failed: readonly FailedImage[]): Promise<CommitOutcome>;
  /** A stored vector of identical content (same SHA-256) in the active space, if any: reused instead of re-embedding. */
  vectorForContent(contentHash: string): Promise<ReusableVector | null>;
  /** Puts failed images back in the queue; returns how many. */
  retryFailed(): Promise<number>;
  /** Stops renewing and gives back unfinished claims at once, so other workers need not wait for them to expire. */
  close(): Promise<void>;
}

/**
 * One vector space's vectors, for search and for building the ANN index:
 * `Catalog.vectors` is always the active space's; `Catalog.vectorsIn(id)` keeps
 * to one space, so a search that started before a model switch finishes with the
 * vectors of the model it encoded its query with.
 */
export interface VectorStore {
  /** Whether any image is embedded: what a search needs to know, without counting a million rows. */
  hasEmbedded(): Promise<boolean>;
  /** Vectors of embedded images with position ≥ `from`, in pages in commit order: what an index up to `from` lacks. */
  tail(from: number, pageSize?: number): AsyncIterable<StoredVector[]>;
  /**
   * A consistent read for building or extending an index: `upTo`, and the
   * vectors of embedded images with from ≤ position < upTo. Every vector
   * committed later has a position ≥ upTo, so it is in the next tail. Iterate
   * the pages to the end or break out: a read never iterated holds a connection
   * (PostgreSQL) until the catalogue closes.
   */
  readForIndex(from: number, pageSize?: number): Promise<{ upTo: number; pages: AsyncIterable<StoredVector[]> }>;
  /** The vectors of the given images, embedded ones only (removed images are never search results). */
  vectorsOf(ids: readonly number[]): Promise<Map<number, StoredVector>>;
  /** Number of embedded images whose vector has a position below `upTo`. */
  countBelow(upTo: number): Promise<number>;
  /**
   * Up to `size` vectors of embedded images spread evenly over the library (by
   * image id), for calibrating scores: every one when there are no more than
   * `size`. The same library gives the same sample.
   */
  sample(size: number): Promise<StoredVector[]>;
  /**
   * How many vectors `tail(from)` would return, counting no further than `limit`:
   * a cheap look at how far an index is behind (its cost grows with `limit`, not the library).
   */
  tailCount(from: number, limit: number): Promise<number>;
}

/** Reading images: by id, by filter, by content, by status. */
export interface ImageQuery {
  get(ids: readonly number[]): Promise<Map<number, ImageRecord>>;
  /** Ids of embedded images that pass the filter (resolved in the database, before any ranking), ascending. */
  matchingIds(filter: SearchFilter): Promise<number[]>;
  /** Groups (two or more) of embedded images with identical content (same SHA-256), ids ascending. */
  identicalContentGroups(): Promise<number[][]>;
  /** Failed images, and skipped non-image files, with their reasons. */
  failures(): Promise<{ failed: FailedFile[]; skipped: FailedFile[] }>;
  counts(): Promise<StatusCounts>;
}

/**
 * Which model made the library's vectors: its vector spaces. The active space is
 * what search and `embed` use; a building space is being filled with another
 * model (`reembed`) while search goes on with the active one, and becomes active
 * in one transaction once every embedded image has a vector (or a failure) in it.
 */
export interface ModelRegistry {
  /** The active space's model, or null for a new library. */
  model(): Promise<ModelIdentity | null>;
  /** Records the library's model; throws ModelMismatchError if another model is recorded. */
  claimModel(model: ModelIdentity): Promise<void>;
  /** The active space, or null for a new library. */
  activeSpace(): Promise<VectorSpace | null>;
  /** Every space (active, building, retired), by id. */
  spaces(): Promise<VectorSpace[]>;
  /**
   * The building space for `model`: the unfinished one (to resume), a retired
   * one of that model turned back into building (its vectors are reused), or a
   * new one. Throws SpaceStateError when the library has no model yet, when
   * `model` is already the active one, or when another model's space is being built.
   */
  beginSpace(model: ModelIdentity): Promise<VectorSpace>;
  /** How far a space is filled, over the images that are embedded (in the active space). */
  spaceProgress(space: number): Promise<SpaceProgress>;
  /**
   * Makes a complete space the active one and retires the active one, in one
   * transaction; images that failed in it become failed images (with the reason,
   * and without a vector in any space).
   * Throws SpaceIncompleteError (saying how many are left) when some embedded
   * image has neither a vector nor a failure in it, SpaceStateError for an unknown space.
   */
  activateSpace(space: number): Promise<void>;
  /**
   * Deletes a building or retired space: its vectors (a batch per transaction, so a
   * killed drop resumes), its failures, then the space. Refuses the active space.
   * Returns how many vectors were deleted.
   */
  dropSpace(space: number): Promise<number>;
}

/** Checks, repairs and bulk moves: the commands that change the catalogue wholesale. */
export interface Maintenance {
  /**
   * Consistency problems between images and vectors, in every vector space (one
   * finite unit vector of the space's width per embedded image, none without its
   * image); reads vectors a page at a time, so memory does not grow with the library.
   */
  verify(): Promise<CatalogProblem[]>;
  /**
   * The storage engine's own check of its files ([] when sound): SQLite's
   * quick_check, or integrity_check when `full`; PostgreSQL checks its own pages.
   */
  integrityCheck(full: boolean): Promise<string[]>;
  /** Fixes problems by dropping bad vectors and re-queueing their images; never guesses a vector. */
  repair(problems: readonly CatalogProblem[]): Promise<void>;
  /** Deletes every image under `root` (and its vectors) from the library; returns their ids, ascending. */
  forget(root: string): Promise<number[]>;
  /** Adds adopted images in one transaction; paths already in the library are left alone. */
  importImages(images: readonly ImportedImage[]): Promise<{ embedded: number; pending: number; skipped: number }>;
  /** Every image that is not removed or skipped, in id order, a page at a time, with its active vector if embedded. */
  exportImages(pageSize?: number): AsyncIterable<(ImageRecord & { vector: Float32Array | null })[]>;
  /** Whole rows in id order after `afterId` (every status, every space's vector): for `picsift migrate`. */
  readRows(afterId: number, limit: number): Promise<CatalogRow[]>;
  /** Writes rows with their ids (rows whose id is present are skipped); one transaction. Returns how many were written. */
  writeRows(rows: readonly CatalogRow[]): Promise<number>;
  /** The largest image id, 0 when empty (where an interrupted migrate resumes). */
  lastRowId(): Promise<number>;
  /** The vector spaces and the scan counter, copied by `picsift migrate` (not the identity: a copy is another catalogue). */
  settings(): Promise<CatalogSettings>;
  writeSettings(settings: CatalogSettings): Promise<void>;
}

/**
 * What a command needs the catalogue to itself:
 * - `scan`: registering files (one scan at a time);
 * - `embed`: embedding (PostgreSQL: any number of workers at once);
 * - `reembed`: filling a building space (one at a time; PostgreSQL: beside `embed` workers);
 * - `alone`: repair, forget, migrate: nothing else may write meanwhile.
 * SQLite has one writer, so every mode there is the library's one writer lock.
 */
export type LockMode = 'scan' | 'embed' | 'reembed' | 'alone';

export interface CatalogLock {
  release(): Promise<void>;
}

export interface Catalog {
  /** For messages: the catalogue file, or the PostgreSQL URL with its password masked. */
  readonly location: string;
  readonly backend: 'sqlite' | 'postgres';
  /** A stable id written when the catalogue was created; derived data (the ANN index) records it. */
  identity(): Promise<string>;
  readonly scans: ScanRegistry;
  /** The active space's vectors. */
  readonly vectors: VectorStore;
  /** The vectors of space `space`, whatever becomes active meanwhile. */
  vectorsIn(space: number): VectorStore;
  readonly images: ImageQuery;
  readonly models: ModelRegistry;
  readonly maintenance: Maintenance;
  /** A queue session for one embedding worker. */
  embedQueue(options?: EmbedQueueOptions): EmbedQueue;
  /**
   * The queue of a building space (`reembed`): embedded images without a vector
   * or a failure in it, in id order. A commit stores vectors in that space (never
   * the active one) and failures in its failure list; images stay embedded.
   */
  spaceQueue(space: number): EmbedQueue;
  /** Takes the lock `mode` needs, or throws CatalogBusyError naming the holder. */
  lock(mode: LockMode, purpose: string): Promise<CatalogLock>;
  close(): Promise<void>;
}
