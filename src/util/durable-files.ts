// Write-then-rename with fsync, so a crash leaves either the old file or the new one.
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames a fully written file into place and makes both the data and the rename durable. */
export function commitFile(tmpPath: string, finalPath: string): void {
  fsyncPath(tmpPath);
  renameSync(tmpPath, finalPath);
  fsyncPath(dirname(finalPath));
}

export function writeFileDurably(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  commitFile(tmp, path);
}
