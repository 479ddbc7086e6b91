// The image module against the reference: scripts/reference_preprocess.py runs
// transformers' CLIPImageProcessor steps literally with PIL and numpy, and every
// comparison here is with its output, in normalised tensor units (one 8-bit
// level is about 0.015 of them). Needs /usr/bin/python3 with PIL and numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { cropOrigin, resizedSize } from '../src/media/geometry.js';
import { preprocessInto, type PreprocessOptions } from '../src/media/preprocess.js';
import { parsePreprocessorConfig, type PreprocessConfig } from '../src/media/preprocessor-config.js';
import { dot } from '../src/util/vectors.js';
import { models, repoRoot, sharedDir, tempDir } from './support.js';

const PYTHON = '/usr/bin/python3';
const REFERENCE_SCRIPT = join(repoRoot, 'scripts', 'reference_preprocess.py');
const PHOTOS = join(sharedDir, 'data', 'photos');
const PILLOW_SAMPLES = join(sharedDir, 'data', 'bad-inputs', 'pillow');
const CLIP = parsePreprocessorConfig({}, 'CLIPImageProcessor defaults');
const CLIP_FLOATS = 3 * 224 * 224;

// ---- the reference ------------------------------------------------------------

let pythonChecked = false;

function requirePythonWithPil(): void {
  if (pythonChecked) return;
  const probe = spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = (probe.error?.message ?? probe.stderr).trim().split('\n').pop();
    throw new Error(`the PIL reference needs ${PYTHON} with PIL and numpy: apt-get install -y python3-pil python3-numpy (${why})`);
  }
  pythonChecked = true;
}

/** One CHW tensor per image from scripts/reference_preprocess.py. */
function referenceTensors(images: string[], workDir: string, configPath?: string): Float32Array[] {
  requirePythonWithPil();
  const out = join(workDir, 'reference.npy');
  const args = [REFERENCE_SCRIPT, ...images, '--out', out, ...(configPath ? ['--config', configPath] : [])];
  const run = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(run.status, 0, `reference_preprocess.py failed: ${run.error?.message ?? run.stderr}`);
  const { shape, data } = readNpyFloat32(out);
  assert.equal(shape[0], images.length);
  const floats = shape[1] * shape[2] * shape[3];
  return images.map((_, i) => data.subarray(i * floats, (i + 1) * floats));
}

/** A C-ordered little-endian float32 array saved by numpy.save (format 1.0). */
function readNpyFloat32(path: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  assert.equal(bytes.toString('latin1', 1, 6), 'NUMPY');
  assert.equal(bytes[6], 1, '.npy format version');
  const headerEnd = 10 + bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, headerEnd);
  assert.match(header, /'descr': '<f4', 'fortran_order': False/);
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerEnd, bytes.byteOffset + bytes.length));
  return { shape, data };
}

// ---- ours and comparisons -------------------------------------------------------

async function ourTensor(file: string, cfg: PreprocessConfig = CLIP, opts?: PreprocessOptions) {
  const tensor = new Float32Array(3 * cfg.cropHeight * cfg.cropWidth);
  const size = await preprocessInto(readFileSync(file), cfg, tensor, 0, opts);
  return { tensor, ...size };
}

function difference(a: Float32Array, b: Float32Array): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** Mean absolute difference with `b` moved `dx` columns left: how much a one-pixel crop offset error would cost. */
function shiftedDifference(a: Float32Array, b: Float32Array, size: number, dx: number): number {
  let sum = 0;
  let count = 0;
  for (let row = 0; row < a.length / size; row++) {
    for (let x = 0; x + dx < size; x++, count++) sum += Math.abs(a[row * size + x] - b[row * size + x + dx]);
  }
  return sum / count;
}

/** The same CHW tensor flipped left to right. */
function mirrorColumns(tensor: Float32Array, size: number): Float32Array {
  const mirrored = new Float32Array(tensor.length);
  for (let row = 0; row < tensor.length / size; row++) {
    for (let x = 0; x < size; x++) mirrored[row * size + x] = tensor[row * size + size - 1 - x];
  }
  return mirrored;
}

async function embed(session: ort.InferenceSession, tensors: Float32Array[]): Promise<Float32Array[]> {
  const batch = 8;
  const embeddings: Float32Array[] = [];
  for (let start = 0; start < tensors.length; start += batch) {
    const group = tensors.slice(start, start + batch);
    const input = new Float32Array(group.length * CLIP_FLOATS);
    group.forEach((tensor, i) => input.set(tensor, i * CLIP_FLOATS));
    const result = await session.run({ pixel_values: new ort.Tensor('float32', input, [group.length, 3, 224, 224]) });
    const output = result.image_embeds.data as Float32Array;
    const dims = output.length / group.length;
    for (let i = 0; i < group.length; i++) embeddings.push(output.slice(i * dims, (i + 1) * dims));
  }
  return embeddings;
}

function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
const worstBy = <T>(rows: T[], key: (row: T) => number, highest: boolean) =>
  rows.reduce((worst, row) => ((highest ? key(row) > key(worst) : key(row) < key(worst)) ? row : worst));

// ---- synthetic images -----------------------------------------------------------

/** A deterministic test card: stripes, gradients and texture, so that a one-pixel shift shows. */
function testCard(width: number, height: number, channels: 1 | 3 | 4): Buffer {
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const stripes = (x >> 2) % 3 === 0 ? 220 : 40;
      pixels[i] = stripes;
      if (channels === 1) continue;
      pixels[i + 1] = Math.round((255 * y) / height);
      pixels[i + 2] = (x * 7 + y * 13) % 256;
      // Alpha: transparent, half and opaque thirds; the colour under alpha 0 must survive.
      if (channels === 4) pixels[i + 3] = x < width / 3 ? 0 : x < (2 * width) / 3 ? 128 : 255;
    }
  }
  return pixels;
}

async function writePng(path: string, pixels: Buffer | Uint16Array, width: number, height: number, channels: 1 | 3 | 4) {
  const image = sharp(pixels, { raw: { width, height, channels } });
  const sixteenBit = pixels instanceof Uint16Array;
  const space = channels === 1 ? (sixteenBit ? 'grey16' : 'b-w') : sixteenBit ? 'rgb16' : 'srgb';
  await image.toColourspace(space).png().toFile(path);
  return path;
}

// ---- configuration --------------------------------------------------------------

test('parsePreprocessorConfig reads CLIP configs, with CLIPImageProcessor defaults for missing fields', () => {
  const configPath = join(models.benchClip, 'preprocessor_config.json');
  const expected: PreprocessConfig = {
    resize: { shortestEdge: 224 },
    resample: 'bicubic',
    cropHeight: 224,
    cropWidth: 224,
    rescaleFactor: 1 / 255,
    normalize: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  };
  assert.deepEqual(parsePreprocessorConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath), expected);
  assert.deepEqual(CLIP, expected);
  // Older configs give plain integers: size is the shortest edge, crop_size a square.
  assert.deepEqual(parsePreprocessorConfig({ size: 336, crop_size: 336 }, 'x'), {
    ...expected,
    resize: { shortestEdge: 336 },
    cropHeight: 336,
    cropWidth: 336,
  });
  assert.deepEqual(
    parsePreprocessorConfig({ size: { height: 256, width: 192 }, do_center_crop: false, do_rescale: false, do_normalize: false }, 'x'),
    { resize: { height: 256, width: 192 }, resample: 'bicubic', cropHeight: 256, cropWidth: 192, rescaleFactor: null, normalize: null },
  );
  // SiglipImageProcessor's own defaults: a 224 × 224 resize, no crop, mean and std 0.5.
  assert.deepEqual(parsePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', resample: 2 }, 'x'), {
    resize: { height: 224, width: 224 },
    resample: 'bilinear',
    cropHeight: 224,
    cropWidth: 224,
    rescaleFactor: 1 / 255,
    normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  });
  assert.deepEqual(parsePreprocessorConfig({ image_mean: 0.5, image_std: 0.5 }, 'x').normalize, {
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  });
});

test('parsePreprocessorConfig refuses what it cannot reproduce, naming the file and the field', () => {
  const refused: [unknown, RegExp][] = [
    [{ resample: 1 }, /^m\.json: "resample" is 1; only 3 \(bicubic\) and 2 \(bilinear\) are supported$/],
    [{ size: { longest_edge: 224 } }, /^m\.json: "size" must be .*; found \{"longest_edge":224\}$/],
    [{ crop_size: { height: 224 } }, /^m\.json: "crop_size" must be/],
    [{ image_std: [0.2, 0, 0.2] }, /^m\.json: "image_std" must be three positive numbers/],
    [{ image_mean: [0.5, 0.5] }, /^m\.json: "image_mean" must be three numbers/],
    [{ rescale_factor: '1/255' }, /^m\.json: "rescale_factor" must be a positive number/],
    [{ do_resize: 'yes' }, /^m\.json: "do_resize" must be true or false; found "yes"$/],
    [{ do_center_crop: false }, /^m\.json: "do_center_crop" is false and "size" does not fix both height and width/],
    [[], /^m\.json: expected a JSON object$/],
  ];
  for (const [json, message] of refused) assert.throws(() => parsePreprocessorConfig(json, 'm.json'), { message });
});

// ---- geometry -------------------------------------------------------------------

test('resize and crop arithmetic follows transformers: truncated long side, floored crop offsets', () => {
  const edge = { shortestEdge: 224 };
  assert.deepEqual(resizedSize({ width: 500, height: 300 }, edge), { width: 373, height: 224 }); // 373.33
  assert.deepEqual(resizedSize({ width: 300, height: 500 }, edge), { width: 224, height: 373 });
  assert.deepEqual(resizedSize({ width: 225, height: 1000 }, edge), { width: 224, height: 995 }); // 995.56, not 996
  assert.deepEqual(resizedSize({ width: 640, height: 640 }, edge), { width: 224, height: 224 });
  assert.deepEqual(resizedSize({ width: 640, height: 480 }, { height: 100, width: 50 }), { width: 50, height: 100 });
  const crop = { width: 224, height: 224 };
  assert.deepEqual(cropOrigin({ width: 373, height: 224 }, crop), { top: 0, left: 74 }); // 74.5 floored
  assert.deepEqual(cropOrigin({ width: 224, height: 373 }, crop), { top: 74, left: 0 });
  assert.deepEqual(cropOrigin({ width: 100, height: 75 }, crop), { top: -75, left: -62 }); // padded
});

test('500×300 and 300×500 images: resized to 373×224 / 224×373 and cropped at offset 74, as the reference is', async (t) => {
  const dir = tempDir(t);
  const landscape = await writePng(join(dir, 'landscape.png'), testCard(500, 300, 3), 500, 300, 3);
  const [reference] = referenceTensors([landscape], dir);
  const ours = await ourTensor(landscape);
  assert.deepEqual({ width: ours.width, height: ours.height }, { width: 500, height: 300 });
  const aligned = difference(ours.tensor, reference);
  const offByOne = shiftedDifference(ours.tensor, reference, 224, 1);
  t.diagnostic(
    `500×300: mean abs diff ${aligned.mean.toFixed(4)} (max ${aligned.max.toFixed(3)}); one column off would be ${offByOne.toFixed(4)}`,
  );
  assert.ok(aligned.mean < 0.01, `mean abs diff ${aligned.mean}`);
  assert.ok(offByOne > 20 * aligned.mean, 'the test card must expose a one-pixel offset error');

  const portraitPixels = await sharp(testCard(500, 300, 3), { raw: { width: 500, height: 300, channels: 3 } })
    .rotate(90)
    .png()
    .toBuffer();
  const portrait = join(dir, 'portrait.png');
  writeFileSync(portrait, portraitPixels);
  const [portraitReference] = referenceTensors([portrait], dir);
  const portraitDifference = difference((await ourTensor(portrait)).tensor, portraitReference);
  assert.ok(portraitDifference.mean < 0.01, `300×500: mean abs diff ${portraitDifference.mean}`);
});

test('a crop larger than the resized image is zero-padded the way center_crop pads', async (t) => {
  const dir = tempDir(t);
  const configPath = join(dir, 'preprocessor_config.json');
  writeFileSync(configPath, JSON.stringify({ size: { shortest_edge: 160 }, crop_size: { height: 224, width: 200 } }));
  const cfg = parsePreprocessorConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
  const image = await writePng(join(dir, 'small.png'), testCard(300, 200, 3), 300, 200, 3); // → 240×160
  const [reference] = referenceTensors([image], dir, configPath);
  const { tensor } = await ourTensor(image, cfg);
  const d = difference(tensor, reference);
  assert.ok(d.mean < 0.01, `mean abs diff ${d.mean}`);
  // Rows 0–31 are padding: pixel value 0, normalised.
  assert.equal(tensor[0], Math.fround(Math.fround(0 - Math.fround(0.48145466)) / Math.fround(0.26862954)));
  assert.equal(tensor[0], reference[0]);
});

test('a SigLIP 2 config (224 × 224 squash, bilinear, no crop) matches the PIL reference, enlarged, mixed and shrunk', async (t) => {
  const dir = tempDir(t);
  const configPath = join(dir, 'preprocessor_config.json');
  // google/siglip2-base-patch16-224's settings; the rest are SiglipImageProcessor's defaults.
  writeFileSync(
    configPath,
    JSON.stringify({ image_processor_type: 'SiglipImageProcessor', resample: 2, size: { height: 224, width: 224 } }),
  );
  const cfg = parsePreprocessorConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
  const enlarged = await writePng(join(dir, 'small.png'), testCard(150, 100, 3), 150, 100, 3);
  const mixed = await writePng(join(dir, 'wide.png'), testCard(400, 120, 3), 400, 120, 3); // shrunk across, enlarged down
  const photos = readdirSync(PHOTOS)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .slice(0, 6)
    .map((f) => join(PHOTOS, f));
  const files = [enlarged, mixed, ...photos];
  const reference = referenceTensors(files, dir, configPath);
  for (const [i, file] of files.entries()) {
    const { tensor } = await ourTensor(file, cfg);
    const d = difference(tensor, reference[i]);
    // The JS resampler is PIL's own arithmetic: enlarged images are bit-identical.
    if (i < 2) assert.equal(d.max, 0, `${file}: max abs diff ${d.max}`);
    // Shrunk photos differ by libvips' box pre-shrink (as with CLIP's bicubic): small.
    else assert.ok(d.mean < 0.02, `${file}: mean abs diff ${d.mean}`);
  }
});

// ---- the photo set --------------------------------------------------------------

test('every photo matches the PIL reference, in pixels and through CLIP ViT-B/32', async (t) => {
  const modelDir = models.benchClip;
  const visionModel = join(modelDir, 'onnx', 'vision_model.onnx');
  assert.ok(
    existsSync(visionModel),
    `${visionModel} is missing: npm test makes it (pretest), or run ../shared/tools/make-bench-models .models`,
  );
  const configPath = join(modelDir, 'preprocessor_config.json');
  const cfg = parsePreprocessorConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
  const photos = readdirSync(PHOTOS)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();
  assert.equal(photos.length, 86);
  const files = photos.map((f) => join(PHOTOS, f));
  const reference = referenceTensors(files, tempDir(t), configPath);
  const session = await ort.InferenceSession.create(visionModel);
  t.after(() => session.release());
  const referenceEmbeddings = await embed(session, reference);

  // Thresholds on each image's mean absolute difference, then on the average over
  // the set. Measured: photos smaller than 224 px are enlarged by our port of PIL's
  // resampler and come out bit-identical (0); shrunk photos differ by sharp's box
  // pre-shrink, worst 0.014 exact and 0.038 with fastShrink, average 0.0059 and 0.0089.
  const paths = [
    { name: 'exact (default)', opts: { fastShrink: false }, shrunkLimit: 0.02, averageLimit: 0.008 },
    { name: 'fastShrink', opts: { fastShrink: true }, shrunkLimit: 0.05, averageLimit: 0.012 },
  ];
  for (const { name, opts, shrunkLimit, averageLimit } of paths) {
    await t.test(name, async (t) => {
      const rows = [];
      for (const [i, file] of files.entries()) {
        const ours = await ourTensor(file, cfg, opts);
        const enlarged = Math.min(ours.width, ours.height) < 224;
        rows.push({ photo: photos[i], enlarged, tensor: ours.tensor, ...difference(ours.tensor, reference[i]) });
      }
      const embeddings = await embed(
        session,
        rows.map((r) => r.tensor),
      );
      const scored = rows.map((r, i) => ({ ...r, cosine: cosine(embeddings[i], referenceEmbeddings[i]) }));

      const worstMean = worstBy(scored, (r) => r.mean, true);
      const worstMax = worstBy(scored, (r) => r.max, true);
      const worstCosine = worstBy(scored, (r) => r.cosine, false);
      t.diagnostic(
        `mean abs diff per image: average ${mean(scored.map((r) => r.mean)).toFixed(4)}, worst ${worstMean.mean.toFixed(4)} (${worstMean.photo}); ` +
          `max abs diff per image: median ${scored
            .map((r) => r.max)
            .sort((a, b) => a - b)[43]
            .toFixed(3)}, worst ${worstMax.max.toFixed(3)} (${worstMax.photo}); ` +
          `embedding cosine: mean ${mean(scored.map((r) => r.cosine)).toFixed(5)}, worst ${worstCosine.cosine.toFixed(5)} (${worstCosine.photo})`,
      );
      for (const r of scored) {
        assert.ok(r.mean <= (r.enlarged ? 0.001 : shrunkLimit), `${r.photo}: mean abs diff ${r.mean.toFixed(4)}`);
        assert.ok(r.cosine >= 0.999, `${r.photo}: embedding cosine ${r.cosine.toFixed(5)}`);
      }
      assert.equal(scored.filter((r) => r.enlarged).length, 6);
      assert.ok(mean(scored.map((r) => r.mean)) <= averageLimit);
      assert.ok(mean(scored.map((r) => r.cosine)) >= 0.9999);
    });
  }
});

// ---- decoding and conversion ----------------------------------------------------

test('all eight EXIF orientations give the same upright image', async (t) => {
  // Bilevel TIFFs of one text line, 590×88 upright (stored 88×590 for 5–8). The
  // files themselves differ in about 0.5% of their pixels, hence the tolerance;
  // a missed flip would cost more than ten times as much.
  const g4: Awaited<ReturnType<typeof ourTensor>>[] = [];
  for (let n = 1; n <= 8; n++) g4.push(await ourTensor(join(PILLOW_SAMPLES, `g4_orientation_${n}.tif`)));
  const g4Differences = g4.map((ours) => difference(ours.tensor, g4[0].tensor).mean);
  const mirrored = difference(g4[0].tensor, mirrorColumns(g4[0].tensor, 224)).mean;
  t.diagnostic(`g4_orientation_1…8 vs 1: ${g4Differences.map((d) => d.toFixed(4)).join(' ')}; mirrored: ${mirrored.toFixed(4)}`);
  for (const [i, ours] of g4.entries()) {
    assert.deepEqual({ width: ours.width, height: ours.height }, { width: 590, height: 88 }, `g4_orientation_${i + 1}`);
    assert.ok(g4Differences[i] < 0.02, `g4_orientation_${i + 1}: mean abs diff ${g4Differences[i]}`);
  }
  assert.ok(mirrored > 10 * 0.02);

  // JPEGs, square, each orientation encoded on its own (so about 4 levels of JPEG
  // noise between them): compared with PIL's exif_transpose, which Pillow 9.4
  // gets wrong for the TIFFs above.
  const names = ['hopper.jpg', ...[2, 3, 4, 5, 6, 7, 8].map((n) => `hopper_orientation_${n}.jpg`)];
  const reference = referenceTensors(
    names.map((n) => join(PILLOW_SAMPLES, n)),
    tempDir(t),
  );
  const hopper: typeof g4 = [];
  for (const name of names) hopper.push(await ourTensor(join(PILLOW_SAMPLES, name)));
  const vsReference = hopper.map((ours, i) => difference(ours.tensor, reference[i]).mean);
  const vsUpright = hopper.map((ours) => difference(ours.tensor, hopper[0].tensor).mean);
  const hopperMirrored = difference(hopper[0].tensor, mirrorColumns(hopper[0].tensor, 224)).mean;
  t.diagnostic(
    `hopper orientations vs PIL: worst ${Math.max(...vsReference).toFixed(4)}; ` +
      `vs orientation 1: worst ${Math.max(...vsUpright).toFixed(4)}; mirrored: ${hopperMirrored.toFixed(4)}`,
  );
  for (const [i, name] of names.entries()) {
    assert.ok(vsReference[i] < 0.001, `${name}: mean abs diff vs PIL ${vsReference[i]}`);
    assert.ok(vsUpright[i] < 0.08, `${name}: mean abs diff vs orientation 1 ${vsUpright[i]}`);
  }
  assert.ok(hopperMirrored > 3 * 0.08);
});

test('alpha is dropped without compositing, grey becomes three channels, as convert("RGB") does', async (t) => {
  const dir = tempDir(t);
  const images = [
    await writePng(join(dir, 'rgba.png'), testCard(320, 240, 4), 320, 240, 4),
    await writePng(join(dir, 'grey.png'), testCard(320, 240, 1), 320, 240, 1),
  ];
  const greyAlpha = join(dir, 'grey-alpha.png');
  await sharp(join(dir, 'grey.png')).ensureAlpha(0.3).png().toFile(greyAlpha);
  images.push(greyAlpha);
  const reference = referenceTensors(images, dir);
  for (const [i, image] of images.entries()) {
    const d = difference((await ourTensor(image)).tensor, reference[i]);
    t.diagnostic(`${image.split('/').pop()}: mean abs diff ${d.mean.toFixed(4)}, max ${d.max.toFixed(3)}`);
    assert.ok(d.mean < 0.01, `${image}: mean abs diff ${d.mean}`);
  }
});

test('16-bit images are reduced to 8 bits', async (t) => {
  const dir = tempDir(t);
  const width = 320;
  const height = 240;
  const card = testCard(width, height, 3);
  // Each 16-bit sample is its 8-bit value in the high byte plus noise in the low byte.
  const wide = Uint16Array.from(card, (v, i) => v * 256 + ((i * 37) % 256));
  const rgb16 = await writePng(join(dir, 'rgb16.png'), wide, width, height, 3);
  assert.equal((await sharp(rgb16).metadata()).depth, 'ushort');
  const [reference] = referenceTensors([rgb16], dir);
  const d = difference((await ourTensor(rgb16)).tensor, reference);
  assert.ok(d.mean < 0.01, `RGB 16-bit: mean abs diff ${d.mean}`);

  // PIL opens 16-bit grey as mode "I" and convert("RGB") clips it to 255: almost
  // white. We keep the image instead: the same tensor as its 8-bit version.
  const grey = testCard(width, height, 1);
  const grey16 = await writePng(
    join(dir, 'grey16.png'),
    Uint16Array.from(grey, (v) => v * 257),
    width,
    height,
    1,
  );
  const grey8 = await writePng(join(dir, 'grey8.png'), grey, width, height, 1);
  const greyDifference = difference((await ourTensor(grey16)).tensor, (await ourTensor(grey8)).tensor);
  t.diagnostic(`16-bit grey vs its 8-bit version: mean abs diff ${greyDifference.mean}`);
  assert.ok(greyDifference.max < 0.02, `16-bit grey: max abs diff ${greyDifference.max}`);
});

test("CMYK JPEGs convert with PIL's formula, not a colour profile", async (t) => {
  const dir = tempDir(t);
  // Pillow's own sample (100×100, enlarged) and a 500×300 one of ours (shrunk by sharp).
  const sample = join(PILLOW_SAMPLES, 'pil_sample_cmyk.jpg');
  const card = join(dir, 'cmyk.jpg');
  await sharp(testCard(500, 300, 3), { raw: { width: 500, height: 300, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg()
    .toFile(card);
  const images = [sample, card];
  const reference = referenceTensors(images, dir);
  for (const [i, image] of images.entries()) {
    assert.equal((await sharp(image).metadata()).space, 'cmyk');
    const d = difference((await ourTensor(image)).tensor, reference[i]);
    t.diagnostic(`${image.split('/').pop()}: mean abs diff ${d.mean.toFixed(4)}, max ${d.max.toFixed(3)}`);
    assert.ok(d.mean < 0.01, `${image}: mean abs diff ${d.mean}`);
  }
});

// ---- failures -------------------------------------------------------------------

function isOneLineError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, pattern);
    return true;
  };
}

test('the pixel cap refuses decompression bombs from the header, and extreme aspect ratios', async () => {
  const out = new Float32Array(CLIP_FLOATS);
  const png = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  await assert.rejects(
    preprocessInto(png, CLIP, out, 0, { maxPixels: 1_000_000 }),
    isOneLineError(/^image is 2000×1500 \(3\.0 MP\), over the 1\.0 MP limit$/),
  );
  await preprocessInto(png, CLIP, out, 0, { maxPixels: 3_000_000 });
  // 49157×27397 declared in the header: refused at the default cap without decoding.
  const bomb = readFileSync(join(sharedDir, 'data', 'bad-inputs', 'imagetestsuite-jpg', '6903d4538fd33c8fd0ded32cb30d618e.jpg'));
  await assert.rejects(
    preprocessInto(bomb, CLIP, out, 0),
    isOneLineError(/^image is 49157×27397 \(1346\.8 MP\), over the 100\.0 MP limit$/),
  );
  // 20,000 pixels, but the short side goes to 224: 224 × 4,480,000.
  const strip = await sharp({ create: { width: 1, height: 20000, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  await assert.rejects(preprocessInto(strip, CLIP, out, 0), isOneLineError(/^image would be resized to 224×4480000 /));
});

test('truncated, corrupt and unsupported files raise one-line errors', async () => {
  const out = new Float32Array(CLIP_FLOATS);
  const noise = { type: 'gaussian', mean: 128, sigma: 40 } as const;
  const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080', noise } })
    .jpeg()
    .toBuffer();
  await preprocessInto(jpeg, CLIP, out, 0);
  const truncated = jpeg.subarray(0, jpeg.length >> 1);
  await assert.rejects(preprocessInto(truncated, CLIP, out, 0), isOneLineError(/^cannot decode image: .*premature end of JPEG image/));
  const pillowTruncated = readFileSync(join(PILLOW_SAMPLES, 'truncated_jpeg.jpg'));
  await assert.rejects(preprocessInto(pillowTruncated, CLIP, out, 0), isOneLineError(/^cannot decode image: .*premature end/));
  const corruptTiff = readFileSync(join(PILLOW_SAMPLES, 'crash-0da013a13571cc8eb457a39fee8db18f8a3c7127.tif'));
  await assert.rejects(preprocessInto(corruptTiff, CLIP, out, 0), isOneLineError(/^cannot decode image: /));
  await assert.rejects(
    preprocessInto(Buffer.from('not an image'), CLIP, out, 0),
    isOneLineError(/^cannot decode image: .*unsupported image format/),
  );
  await assert.rejects(preprocessInto(Buffer.alloc(0), CLIP, out, 0), isOneLineError(/^cannot decode image: Input Buffer is empty$/));
});

test('writes exactly its own slot of a batch tensor', async () => {
  const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c08040' } })
    .jpeg()
    .toBuffer();
  const batch = new Float32Array(3 * CLIP_FLOATS).fill(Number.NaN);
  await preprocessInto(jpeg, CLIP, batch, CLIP_FLOATS);
  assert.ok(batch.subarray(0, CLIP_FLOATS).every(Number.isNaN));
  assert.ok(batch.subarray(CLIP_FLOATS, 2 * CLIP_FLOATS).every(Number.isFinite));
  assert.ok(batch.subarray(2 * CLIP_FLOATS).every(Number.isNaN));
  await assert.rejects(preprocessInto(jpeg, CLIP, batch, 2 * CLIP_FLOATS + 1), RangeError);
});
