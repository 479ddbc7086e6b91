// EXIF facts worth keeping in the catalogue (filters, the viewer), read from the
// bytes the pipeline already holds. Never throws: a photo without EXIF, or with a
// broken block, is still a photo, so every field is simply null.
import exifr from 'exifr';
import { NO_EXIF, type ExifFacts } from '../catalog/types.js';

export type { ExifFacts };

export async function readExif(bytes: Buffer): Promise<ExifFacts> {
  let tags: Record<string, unknown> | undefined;
  try {
    // reviveValues off: exifr would turn the zone-less time into a Date in this
    // machine's zone; translateValues off keeps Orientation a number.
    tags = (await exifr.parse(bytes, {
      ifd0: ['Make', 'Model', 'Orientation'],
      exif: ['DateTimeOriginal', 'CreateDate', 'OffsetTimeOriginal'],
      gps: true,
      reviveValues: false,
      translateValues: false,
    } as never)) as Record<string, unknown> | undefined;
  } catch {
    return { ...NO_EXIF };
  }
  if (!tags) return { ...NO_EXIF };
  return {
    takenAt: exifDate(tags.DateTimeOriginal) ?? exifDate(tags.CreateDate),
    takenOffset:
      typeof tags.OffsetTimeOriginal === 'string' && /^[+-]\d{2}:\d{2}$/.test(tags.OffsetTimeOriginal.trim())
        ? tags.OffsetTimeOriginal.trim()
        : null,
    cameraMake: text(tags.Make),
    cameraModel: text(tags.Model),
    orientation: typeof tags.Orientation === 'number' && tags.Orientation >= 1 && tags.Orientation <= 8 ? tags.Orientation : null,
    gpsLat: coordinate(tags.latitude, 90),
    gpsLon: coordinate(tags.longitude, 180),
  };
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.replace(/\0+$/, '').trim();
  return trimmed === '' ? null : trimmed;
}

/** "2012:08:26 15:53:03" → "2012-08-26T15:53:03"; cameras with an unset clock write zeros or blanks: null. */
function exifDate(value: unknown): string | null {
  const m = typeof value === 'string' ? value.trim().match(/^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/) : null;
  if (!m || m[1] === '0000' || m[2] === '00' || m[3] === '00') return null;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
}

function coordinate(value: unknown, limit: number): number | null {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= limit ? value : null;
}
