// Shared by the search feature tests: a colour library in two folders, with EXIF on a few photos.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { COLOURS, writeSolidJpeg } from './support.js';

type Rgb = [number, number, number];
const shade = (rgb: Rgb, i: number): Rgb => rgb.map((c) => Math.max(0, Math.min(255, c + (i % 7) * 3 - 9))) as Rgb;

/** A solid JPEG with camera and date in its EXIF. */
async function writeExifJpeg(path: string, rgb: Rgb, make: string, date: string): Promise<void> {
  await sharp({ create: { width: 90, height: 60, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .withExif({ IFD0: { Make: make, Model: 'Model 7' }, IFD2: { DateTimeOriginal: date } })
    .jpeg()
    .toFile(path);
}

/** Where writeSearchPhotos puts things under `work`. */
export function searchPhotoFolders(work: string) {
  return {
    photos: join(work, 'photos'),
    folderA: join(work, 'photos', 'a'),
    folderB: join(work, 'photos', 'b'),
    outside: join(work, 'outside'),
  };
}

/**
 * photos/a: 8 reds (more than K = 5) and 3 greens. photos/b: 30 reds, so an
 * unfiltered "red" fills the index's first candidates mostly from b; 5 each of
 * yellow, green, blue; a 400×300 blue PNG; three JPEGs with camera and date in
 * EXIF. outside/query-red.jpg is a query image that is not in the library.
 */
export async function writeSearchPhotos(work: string): Promise<void> {
  const { folderA, folderB, outside } = searchPhotoFolders(work);
  mkdirSync(folderA, { recursive: true });
  mkdirSync(folderB, { recursive: true });
  mkdirSync(outside, { recursive: true });
  for (let i = 0; i < 8; i++) await writeSolidJpeg(join(folderA, `red-${i}.jpg`), shade(COLOURS.red, i), 64 + i, 48);
  for (let i = 0; i < 3; i++) await writeSolidJpeg(join(folderA, `green-${i}.jpg`), shade(COLOURS.green, i), 64 + i, 48);
  for (let i = 0; i < 30; i++) await writeSolidJpeg(join(folderB, `red-${i}.jpg`), shade(COLOURS.red, i), 80 + i, 60);
  for (const colour of ['yellow', 'green', 'blue'] as const) {
    for (let i = 0; i < 5; i++) await writeSolidJpeg(join(folderB, `${colour}-${i}.jpg`), shade(COLOURS[colour], i), 80 + i, 60);
  }
  await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 20, g: 30, b: 220 } } })
    .png()
    .toFile(join(folderB, 'big-blue.png'));
  await writeExifJpeg(join(folderB, 'cam-red.jpg'), COLOURS.red, 'PicsiftCam', '2021:06:05 14:03:09');
  await writeExifJpeg(join(folderB, 'cam-green.jpg'), COLOURS.green, 'PicsiftCam', '2019:01:02 08:00:00');
  await writeExifJpeg(join(folderB, 'other-red.jpg'), COLOURS.red, 'OtherMaker', '2021:06:05 10:00:00');
  await writeSolidJpeg(join(outside, 'query-red.jpg'), [225, 25, 30], 50, 50);
}
