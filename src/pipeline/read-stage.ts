// Stage 1 of embedding a batch: read each file once. The same bytes feed the
// content hash (identical content reuses a stored vector) and the decoder. Size
// and mtime come from the open file, so they describe exactly the bytes embedded
// even if the file changed after the scan.
import { createHash } from 'node:crypto';
import { readRegularFile } from '../media/safe-open.js';

export interface ReadFile {
  bytes: Buffer;
  size: number;
  mtimeMs: number;
  /** SHA-256 of the bytes, hex. */
  contentHash: string;
}

export async function readImageFile(path: string, timeoutMs: number): Promise<ReadFile> {
  const { bytes, size, mtimeMs } = await readRegularFile(path, timeoutMs);
  if (bytes.length === 0) throw new Error('file is empty');
  return { bytes, size, mtimeMs, contentHash: createHash('sha256').update(bytes).digest('hex') };
}
