// The only way the server reaches a photo on disk: by catalogue id. The path comes
// from the catalogue, never from the request, and the file must still be an image
// now: a catalogued photo that was later replaced by something else (a link to
// /etc/passwd, a text file) is refused, so the catalogue cannot be turned into a
// way to read arbitrary files. The check and the reading use one open file
// handle, so the file cannot be swapped between them.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { SearchService } from '../app/search-service.js';
import type { ImageRecord } from '../catalog/types.js';
import { openRegularFile, readStart } from '../media/safe-open.js';
import { SNIFF_BYTES, sniffBuffer } from '../media/sniff-format.js';
import { notFound } from './errors.js';

export interface ServableImage {
  record: ImageRecord;
  /** What the file is now, sniffed from its content (it may have changed since it was catalogued). */
  format: string;
  info: Stats;
  /** Changes whenever the file does: the basis of ETags and thumbnail names. */
  fingerprint: string;
}

/** A request gives up on a file that does not open or read within this (a hung network mount). */
const FILE_TIMEOUT_MS = 10_000;

const MIME: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
  tif: 'image/tiff',
  heic: 'image/heic',
  jxl: 'image/jxl',
};

/** Formats every current browser shows in an <img>; others are offered as downloads. */
const SHOWN_INLINE = new Set(['jpg', 'png', 'gif', 'webp', 'avif', 'bmp', 'ico']);

export const mimeType = (format: string): string => MIME[format] ?? 'application/octet-stream';
export const showsInline = (format: string): boolean => SHOWN_INLINE.has(format);

/**
 * Opens the catalogued image `id` if its file is still a regular file holding an
 * image; otherwise throws a 404. The caller owns (and must close) the handle.
 */
export async function openServableImage(service: SearchService, id: number): Promise<ServableImage & { handle: FileHandle }> {
  const record = await service.imageRecord(id);
  if (!record) throw notFound(`image ${id}`);
  let handle: FileHandle | undefined;
  try {
    // Follows links, as the scan did; never blocks on a pipe or a device.
    const opened = await openRegularFile(record.path, FILE_TIMEOUT_MS);
    handle = opened.handle;
    const info = opened.info;
    const sniffed = await sniffBuffer(await readStart(handle, SNIFF_BYTES, FILE_TIMEOUT_MS));
    if (!('format' in sniffed)) throw new Error('not an image');
    const fingerprint = createHash('sha256')
      .update(`${id}\0${record.path}\0${info.dev}:${info.ino}\0${info.size}\0${info.mtimeMs}`)
      .digest('base64url')
      .slice(0, 22);
    return { record, format: sniffed.format, info, fingerprint, handle };
  } catch {
    await handle?.close();
    throw notFound(`the file of image ${id}`);
  }
}

/** The same checks, for callers that go on by path (sharp, exifr) and need no handle. */
export async function servableImage(service: SearchService, id: number): Promise<ServableImage> {
  const { handle, ...image } = await openServableImage(service, id);
  await handle.close();
  return image;
}

/** True when an If-None-Match header names this ETag (or is "*"). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
