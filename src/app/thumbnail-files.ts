// Where `serve` keeps thumbnails (LIBRARY/thumbnails/SIZE/SHARD/ID-RECIPE-FINGERPRINT.jpg),
// so that the server makes them and the commands that remove images remove them too.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const THUMBNAIL_SIZES = ['small', 'large'] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

/** The folder of image `id`'s thumbnails of one size: 256 shards keep folders small. */
export function thumbnailDir(root: string, size: ThumbnailSize, id: number): string {
  return join(root, size, (id % 256).toString(16).padStart(2, '0'));
}

/** Every thumbnail of these images (a forgotten image's thumbnails would never be asked for again). */
export async function removeThumbnails(root: string, ids: readonly number[]): Promise<void> {
  for (const size of THUMBNAIL_SIZES) {
    const byDir = new Map<string, number[]>();
    for (const id of ids) {
      const dir = thumbnailDir(root, size, id);
      byDir.set(dir, [...(byDir.get(dir) ?? []), id]);
    }
    for (const [dir, inDir] of byDir) {
      const names = await readdir(dir).catch(() => [] as string[]);
      const prefixes = inDir.map((id) => `${id}-`);
      await Promise.all(names.filter((n) => prefixes.some((p) => n.startsWith(p))).map((n) => rm(join(dir, n), { force: true })));
    }
  }
}
