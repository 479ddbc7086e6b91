// tsc emits only .ts files, so the page (src/server/public/) and package.json are
// read from the repository: this file runs as dist/src/util/repo-root.js.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
