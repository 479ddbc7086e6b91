// Makes the models the tests need: our own generated ones (fast, always rewritten
// so they follow the generator) and the CLIP ViT-B/32 architecture from
// ../shared/tools/make-bench-models (slow, made once and kept in .models/).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { models, modelsDir, repoRoot, sharedDir } from './paths.js';

execFileSync(process.execPath, [join(repoRoot, 'dist/src/testmodels/main.js'), modelsDir], { stdio: 'inherit' });

if (!existsSync(join(models.benchClip, 'onnx', 'vision_model_quantized.onnx'))) {
  const tool = join(sharedDir, 'tools', 'make-bench-models');
  if (!existsSync(tool)) {
    throw new Error(`${tool} not found: the tests need ../shared beside the repository (or PICSIFT_SHARED)`);
  }
  process.stderr.write(`making the CLIP ViT-B/32 bench model with ${tool} (once)…\n`);
  execFileSync(tool, [modelsDir], { stdio: 'inherit' });
}
