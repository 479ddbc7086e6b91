// Thumbnails: made on first request (media/thumbnail.ts), kept in
// LIBRARY/thumbnails/SIZE/SHARD/ID-FINGERPRINT.jpg. The fingerprint changes with
// the photo's file, so an edited photo gets a new thumbnail and a new ETag; the
// old one is removed when the new one is made. Files appear atomically (written
// under a temporary name, flushed, renamed), so a crash or a concurrent reader
// never sees half a JPEG.
import { randomUUID } from 'node:crypto';
import { access, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { THUMBNAIL_SIZES, thumbnailDir, type ThumbnailSize } from '../app/thumbnail-files.js';
import { writeThumbnail } from '../media/thumbnail.js';
import { HttpError } from './errors.js';
import type { ServableImage } from './image-files.js';

export { THUMBNAIL_SIZES, type ThumbnailSize };

/** Longest edge: small fills a grid cell on a 2× screen, large fills a laptop screen in the viewer. */
const LONG_EDGE: Record<ThumbnailSize, number> = { small: 400, large: 1600 };
/** Part of every name and ETag: change it when the recipe below changes, and old thumbnails are not reused. */
const RECIPE = 'r1';

export class ThumbnailStore {
  /** Concurrent requests for the same thumbnail share one run. */
  private readonly making = new Map<string, Promise<void>>();

  constructor(readonly root: string) {}

  etag(image: ServableImage, size: ThumbnailSize): string {
    return `"${size}-${RECIPE}-${image.fingerprint}"`;
  }

  /** The path of the image's thumbnail, made first if it is not cached yet. */
  async path(image: ServableImage, size: ThumbnailSize): Promise<string> {
    const id = image.record.id;
    const dir = thumbnailDir(this.root, size, id);
    const name = `${id}-${RECIPE}-${image.fingerprint}.jpg`;
    const target = join(dir, name);
    if (await exists(target)) return target;
    let job = this.making.get(target);
    if (!job) {
      job = this.make(image, size, dir, name).finally(() => this.making.delete(target));
      this.making.set(target, job);
    }
    await job;
    return target;
  }

  private async make(image: ServableImage, size: ThumbnailSize, dir: string, name: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const temporary = join(dir, `.${name}.${randomUUID()}.tmp`);
    try {
      await writeThumbnail(image.record.path, temporary, LONG_EDGE[size]);
      const written = await open(temporary, 'r');
      try {
        await written.sync();
      } finally {
        await written.close();
      }
      await rename(temporary, join(dir, name));
    } catch (err) {
      await rm(temporary, { force: true });
      throw new HttpError(415, `cannot make a thumbnail of image ${image.record.id} (${image.format}): ${(err as Error).message}`);
    }
    await this.removeOlderVersions(dir, image.record.id, name);
  }

  /** Thumbnails of earlier versions of the file (or of the recipe) would never be asked for again. */
  private async removeOlderVersions(dir: string, id: number, current: string): Promise<void> {
    const prefix = `${id}-`;
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.startsWith(prefix) && n !== current && n.endsWith('.jpg')).map((n) => rm(join(dir, n), { force: true })),
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
