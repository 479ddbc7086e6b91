// Image format from a file's first bytes (file-type), never from its extension.
import { open } from 'node:fs/promises';
import { fileTypeFromBuffer } from 'file-type';

/** file-type's recommended sample size: enough for every format it knows. */
const SAMPLE_BYTES = 4100;

export type Sniffed = { format: string } | { notImage: string };

/** The image format of a file ("jpg", "png", "heic", …), or why it is not an image. */
export async function sniffImageFormat(path: string): Promise<Sniffed> {
  const handle = await open(path, 'r');
  try {
    const sample = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(sample, 0, SAMPLE_BYTES, 0);
    if (bytesRead === 0) return { notImage: 'not an image: the file is empty' };
    const type = await fileTypeFromBuffer(sample.subarray(0, bytesRead));
    if (!type) return { notImage: 'not an image: its content matches no known file format' };
    return type.mime.startsWith('image/') ? { format: type.ext } : { notImage: `not an image: content is ${type.mime}` };
  } finally {
    await handle.close();
  }
}
