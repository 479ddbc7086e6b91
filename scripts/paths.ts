// Where tests and benchmarks find generated models and the shared data set.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is compiled to dist/scripts/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** ../shared beside the repository: photos, bad inputs, CIFAR-10, bench-model tools. */
export const sharedDir = process.env.PICSIFT_SHARED ? resolve(process.env.PICSIFT_SHARED) : resolve(repoRoot, '..', 'shared');
/** Generated models (git-ignored). */
export const modelsDir = process.env.PICSIFT_TEST_MODELS ? resolve(process.env.PICSIFT_TEST_MODELS) : join(repoRoot, '.models');

export const models = {
  tinyClip: join(modelsDir, 'tiny-clip'),
  colorClip: join(modelsDir, 'color-clip'),
  colorClipMultilingual: join(modelsDir, 'color-clip-multilingual'),
  colorSiglip: join(modelsDir, 'color-siglip'),
  benchClip: join(modelsDir, 'clip-vit-b32-arch'),
};
