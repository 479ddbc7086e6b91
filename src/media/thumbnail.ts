// Thumbnails for the gallery: the photo the right way up (EXIF orientation),
// fitted into a square, on white (JPEG has no transparency).
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS } from './limits.js';
import { readRegularFile } from './safe-open.js';
import { withOwnErrors } from './vips-errors.js';

/** libvips gives up after this long (a decoder stuck on a malicious file would otherwise hold the request). */
const DECODE_TIMEOUT_S = 30;
/** Reading the photo gives up after this long (a hung network mount). */
const READ_TIMEOUT_MS = 10_000;

/** Writes a JPEG of `path` whose longest edge is at most `edge` to `out`. */
export async function writeThumbnail(path: string, out: string, edge: number): Promise<void> {
  const { bytes } = await readRegularFile(path, READ_TIMEOUT_MS);
  // failOn 'none': a truncated photo still gets a (partly grey) thumbnail rather than none.
  // The pixel ceiling is embedding's default: a decompression bomb gets no thumbnail either.
  await withOwnErrors(() =>
    sharp(bytes, { autoOrient: true, failOn: 'none', limitInputPixels: DEFAULT_MAX_PIXELS })
      .timeout({ seconds: DECODE_TIMEOUT_S })
      .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 82 })
      .toFile(out),
  );
}
