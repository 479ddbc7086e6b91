// `npm run demo`: works offline, from the repository alone. Generates the
// color-clip model and a small colourful photo library, indexes it with the real
// CLI and runs a few searches.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeTestModels } from '../src/testmodels/write-test-models.js';
import { repoRoot } from './paths.js';

const demo = join(repoRoot, '.demo');
const photos = join(demo, 'photos');
const library = join(demo, 'library');
rmSync(demo, { recursive: true, force: true });
mkdirSync(photos, { recursive: true });

const modelsOut = join(demo, 'models');
writeTestModels(modelsOut);
const model = join(modelsOut, 'color-clip');

// Solid colours, two-tone splits and gradients, in a few sizes and folders.
const palette: Record<string, string> = {
  red: '#d7191c',
  green: '#1a9641',
  blue: '#2b5cd6',
  yellow: '#f2e01f',
  black: '#111111',
  white: '#f4f4f4',
};
const names = Object.keys(palette);
let made = 0;
for (const [i, name] of names.entries()) {
  const folder = join(photos, i % 2 === 0 ? 'summer' : 'winter');
  mkdirSync(folder, { recursive: true });
  for (const [w, h] of [
    [640, 480],
    [480, 640],
    [800, 800],
  ]) {
    await sharp({ create: { width: w, height: h, channels: 3, background: palette[name] } })
      .jpeg()
      .toFile(join(folder, `${name}-${w}x${h}.jpg`));
    made++;
  }
  const other = palette[names[(i + 1) % names.length]];
  const stripe = Buffer.from(
    `<svg width="600" height="400"><rect width="600" height="400" fill="${palette[name]}"/><rect x="450" width="150" height="400" fill="${other}"/></svg>`,
  );
  await sharp(stripe)
    .png()
    .toFile(join(folder, `${name}-mostly.png`));
  made++;
}
console.log(`demo: ${made} images in ${photos}, model ${model}`);

const picsift = (...args: string[]): void => {
  console.log(`\n$ picsift ${args.join(' ')}`);
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'picsift.js'), '--library', library, ...args], { stdio: 'inherit' });
};
picsift('--model', model, 'index', photos);
picsift('status');
picsift('search-text', 'red', '-n', '5');
picsift('search-text', 'blue', '-n', '3', '--json');
console.log(`\ndemo library kept in ${library}; try: npx picsift --library ${library} search green`);
console.log(`or see it in a browser: npx picsift --library ${library} serve   (then open http://127.0.0.1:7878/?q=red)`);
