// Search results as the front ends show them: rank, id, path, score, the date the
// photo was taken (what --sort and the gallery's month headings use), and
// whether it is a match (at or above the cut-off).
import type { ImageQuery } from '../catalog/ports.js';
import type { ImageRecord } from '../catalog/types.js';

export interface SearchResult {
  /** Place in the ranking by score (1 = best), whatever order the results are shown in. */
  rank: number;
  id: number;
  path: string;
  score: number;
  /**
   * When the photo was taken, as local wall-clock time "YYYY-MM-DDTHH:MM:SS": EXIF
   * DateTimeOriginal, else the file's modification time in this machine's zone
   * (the date the filters --after and --before compare).
   */
  date: string;
  /** At or above the cut-off. */
  match: boolean;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** A moment as this machine's local wall-clock time, "YYYY-MM-DDTHH:MM:SS" (seconds truncated, as the catalogue's filter does). */
export function localWallClock(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The date a photo was taken, as the filters see it. */
export function dateTaken(record: Pick<ImageRecord, 'exif' | 'mtimeMs'>): string {
  return record.exif.takenAt ?? localWallClock(record.mtimeMs);
}

export interface Hit {
  id: number;
  score: number;
  /** 1-based place in the ranking by score. */
  rank?: number;
}

/** The hits with their paths and dates, in the order given; a hit is a match when it scores at least `cutoff`. */
export async function attachPaths(images: ImageQuery, hits: Hit[], cutoff = -Infinity): Promise<SearchResult[]> {
  const records = await images.get(hits.map((h) => h.id));
  return hits.map((hit, i) => {
    const record = records.get(hit.id);
    return {
      rank: hit.rank ?? i + 1,
      id: hit.id,
      path: record?.path ?? '',
      score: hit.score,
      date: record ? dateTaken(record) : '',
      match: hit.score >= cutoff,
    };
  });
}
