// Writes every generated test model under one directory.

import { join } from 'node:path';
import { colorClipModel, colorClipMultilingualModel, colorSiglipModel } from './color-clip.js';
import { type TestModel, writeModelDirectory } from './hf-layout.js';
import { tinyClipModel } from './tiny-clip.js';

const TEST_MODELS: Record<string, () => TestModel> = {
  'tiny-clip': tinyClipModel,
  'color-clip': colorClipModel,
  'color-clip-multilingual': colorClipMultilingualModel,
  'color-siglip': colorSiglipModel,
};

/** Writes OUT_DIR/<name> for each model and returns the directories written. */
export function writeTestModels(outDir: string): string[] {
  return Object.entries(TEST_MODELS).map(([name, makeModel]) => {
    const dir = join(outDir, name);
    writeModelDirectory(dir, makeModel());
    return dir;
  });
}
