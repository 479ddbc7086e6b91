// What the viewer shows about a photo beyond the catalogue: its displayed size
// (after EXIF orientation) from sharp, and when and with what it was taken from
// EXIF (exifr). Read on request: a header read is cheap next to storing it for
// every photo in the catalogue.
import exifr from 'exifr';
import sharp from 'sharp';

export interface PhotoMetadata {
  /** As displayed, i.e. after EXIF orientation; null when the header cannot be read. */
  width: number | null;
  height: number | null;
  /** EXIF's local wall-clock time, "2012-08-26T15:53:03" (with "+02:00" when the camera recorded its offset). */
  dateTaken: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
}

const EXIF_TAGS = ['Make', 'Model', 'DateTimeOriginal', 'CreateDate', 'OffsetTimeOriginal'];

export async function readPhotoMetadata(path: string): Promise<PhotoMetadata> {
  const [size, exif] = await Promise.all([
    sharp(path)
      .metadata()
      .then((m) => m.autoOrient)
      .catch(() => null),
    // reviveValues off: exifr would turn EXIF's zone-less time into a Date in the
    // server's time zone; the photo's own wall-clock time is what people expect.
    (exifr.parse(path, { pick: EXIF_TAGS, reviveValues: false }) as Promise<Record<string, unknown> | undefined>).catch(() => undefined),
  ]);
  return {
    width: size?.width ?? null,
    height: size?.height ?? null,
    dateTaken: exifDate(exif?.DateTimeOriginal ?? exif?.CreateDate, exif?.OffsetTimeOriginal),
    cameraMake: text(exif?.Make),
    cameraModel: text(exif?.Model),
  };
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.replace(/\0+$/, '').trim();
  return trimmed === '' ? null : trimmed;
}

/** "2012:08:26 15:53:03" → "2012-08-26T15:53:03"; cameras with an unset clock write zeros or blanks: null. */
function exifDate(value: unknown, offset: unknown): string | null {
  const match = typeof value === 'string' ? value.trim().match(/^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/) : null;
  if (!match || match[1] === '0000') return null;
  const zone = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset.trim()) ? offset.trim() : '';
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${zone}`;
}
