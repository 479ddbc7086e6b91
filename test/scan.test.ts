import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { scanImages } from '../src/pipeline/scan.js';
import { tempDir, writeSolidJpeg } from './support.js';

test('scan finds images recursively, sniffs formats from content and survives loops and broken links', async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
  await writeSolidJpeg(join(root, 'a', 'one.jpg'), [200, 10, 10]);
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00f' } })
    .png()
    .toFile(join(root, 'a', 'b', 'two.png'));
  // A JPEG named .png, and a text file named .jpg: the content decides.
  copyFileSync(join(root, 'a', 'one.jpg'), join(root, 'a', 'b', 'c', 'really-a-jpeg.png'));
  writeFileSync(join(root, 'a', 'notes.jpg'), 'not an image at all');
  writeFileSync(join(root, 'a', 'empty.jpg'), '');
  symlinkSync(root, join(root, 'a', 'b', 'loop')); // a folder that contains itself
  symlinkSync(join(root, 'nowhere'), join(root, 'a', 'broken-link'));

  const problems: string[] = [];
  const found = [];
  for await (const f of scanImages([root], { onProblem: (p) => problems.push(p) })) found.push(f);

  const byName = Object.fromEntries(found.map((f) => [f.path.slice(root.length + 1), f.notImage ?? f.format]));
  assert.deepEqual(byName, {
    'a/one.jpg': 'jpg',
    'a/b/two.png': 'png',
    'a/b/c/really-a-jpeg.png': 'jpg',
    'a/empty.jpg': 'not an image: the file is empty',
    'a/notes.jpg': 'not an image: its content matches no known file format',
  });
  assert.deepEqual(problems, [join(root, 'a', 'broken-link')]);
  const one = found.find((f) => f.path.endsWith('one.jpg'))!;
  assert.ok(one.size > 0 && one.mtimeMs > 0);
});

test('a missing root is reported and the other roots are still scanned', async (t) => {
  const root = tempDir(t);
  await writeSolidJpeg(join(root, 'x.jpg'), [0, 0, 0]);
  const problems: string[] = [];
  const found = [];
  for await (const f of scanImages([join(root, 'missing'), root], { onProblem: (p, why) => problems.push(`${p} ${why}`) })) found.push(f);
  assert.equal(found.length, 1);
  assert.match(problems[0], /missing ENOENT/);
});
