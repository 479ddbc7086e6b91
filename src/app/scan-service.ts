// `scan` (run-pipeline): registers the image files under folders in the catalogue.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Catalog } from '../catalog/ports.js';
import { registerFolders, type RegisterReport } from '../pipeline/register.js';
import type { ScanEvents } from '../pipeline/scan.js';

export async function scanFolders(
  catalog: Pick<Catalog, 'scans'>,
  dirs: readonly string[],
  events: ScanEvents & { onProgress?: (seen: number) => void } = {},
): Promise<RegisterReport> {
  // Refuse before scanning anything: a mistyped folder must not pass as "0 new photos".
  const missing = dirs.map((d) => resolve(d)).filter((d) => !existsSync(d));
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist; check the path${missing.length === 1 ? '' : 's'} (nothing was scanned)`,
    );
  }
  return registerFolders(catalog.scans, dirs, events);
}
