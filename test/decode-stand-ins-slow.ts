// For the decode workers' tests: the stand-in read of decode-stand-ins.ts, and a
// decode stage that never finishes for files ending in "never-ending decode" (a
// decoder stuck on a malicious file, before sharp's own time limit, started
// later, stops it) and fills the tensor with 0.5 for any other.
import { NO_EXIF } from '../src/catalog/types.js';
import type { DecodeStage } from '../src/pipeline/prepare.js';

export { read } from './decode-stand-ins.js';

export const NEVER_ENDING = Buffer.from('never-ending decode');

export const decode: DecodeStage = async (bytes, out, offset) => {
  if (bytes.subarray(-NEVER_ENDING.length).equals(NEVER_ENDING)) return new Promise(() => {});
  out.fill(0.5, offset, offset + 3);
  return { width: 1, height: 1, exif: NO_EXIF };
};
