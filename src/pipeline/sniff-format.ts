// Image format from a file's first bytes (file-type), never from its extension.
import { open } from 'node:fs/promises';
import { fileTypeFromBuffer } from 'file-type';

/** file-type's recommended sample size: enough for every format it knows. */
const SAMPLE_BYTES = 4100;

/** The image format of a file ("jpg", "png", "heic", …), or null when it is not an image. */
export async function sniffImageFormat(path: string): Promise<string | null> {
  const handle = await open(path, 'r');
  try {
    const sample = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(sample, 0, SAMPLE_BYTES, 0);
    if (bytesRead === 0) return null;
    const type = await fileTypeFromBuffer(sample.subarray(0, bytesRead));
    return type && type.mime.startsWith('image/') ? type.ext : null;
  } finally {
    await handle.close();
  }
}
