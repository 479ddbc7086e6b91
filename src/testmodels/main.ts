// CLI: `node dist/src/testmodels/main.js OUT_DIR` (npm run make-test-models -- OUT_DIR).

import { resolve } from 'node:path';
import { writeTestModels } from './write-test-models.js';

const outDir = process.argv[2];
if (!outDir || process.argv.length > 3) {
  console.error('usage: make-test-models OUT_DIR');
  process.exit(2);
}
for (const dir of writeTestModels(resolve(outDir))) console.log(dir);
