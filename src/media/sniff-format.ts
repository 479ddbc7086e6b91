// Image format from a file's first bytes (file-type), never from its extension.
import { close, fstat, open, read } from 'node:fs';
import { fileTypeFromBuffer } from 'file-type';

/** file-type's recommended sample size: enough for every format it knows. */
export const SNIFF_BYTES = 4100;

export type Sniffed = { format: string } | { notImage: string };

export interface SniffedFile {
  size: number;
  mtimeMs: number;
  sniffed: Sniffed;
}

/**
 * A file's size, mtime and image format ("jpg", "png", "heic", …, or why it is not
 * an image), from one open: open, fstat, read the first bytes, close. fs's callback
 * API rather than FileHandle: on CIFAR's 10,000 files in the page cache it took
 * 15.8 µs of CPU per file instead of 31.4 (stat + FileHandle open, read, close),
 * and registration is mostly this.
 */
export function sniffFile(path: string): Promise<SniffedFile> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (openError, fd) => {
      if (openError) return reject(openError);
      const fail = (err: Error) => close(fd, () => reject(err));
      fstat(fd, (statError, stats) => {
        if (statError) return fail(statError);
        const sample = Buffer.allocUnsafe(SNIFF_BYTES);
        read(fd, sample, 0, SNIFF_BYTES, 0, (readError, bytesRead) => {
          if (readError) return fail(readError);
          close(fd, (closeError) => {
            if (closeError) return reject(closeError);
            sniffBuffer(sample.subarray(0, bytesRead)).then(
              (sniffed) => resolve({ size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs), sniffed }),
              reject,
            );
          });
        });
      });
    });
  });
}

/** An image format from a file's first bytes (SNIFF_BYTES of them recognise every format file-type knows). */
export async function sniffBuffer(sample: Buffer): Promise<Sniffed> {
  if (sample.length === 0) return { notImage: 'not an image: the file is empty' };
  const type = await fileTypeFromBuffer(sample);
  if (!type) return { notImage: 'not an image: its content matches no known file format' };
  return type.mime.startsWith('image/') ? { format: type.ext } : { notImage: `not an image: content is ${type.mime}` };
}
