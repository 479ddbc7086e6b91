// The SigLIP family (SigLIP 2's fixed-resolution ONNX exports, multilingual) through
// color-siglip: the multilingual colour model laid out as
// onnx-community/siglip2-base-patch16-224-ONNX is (pooler_output outputs, texts of
// exactly 64 tokens, a Gemma tokenizer that wants lowercase text, a 224 × 224
// bilinear resize without crop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../src/model/hub.js';
import { readModelFamily } from '../src/model/model-family.js';
import { resolveModel } from '../src/model/model-files.js';
import { ImageEncoder, TextEncoder } from '../src/model/encoders.js';
import { COLOURS, models, runCli, tempDir, writeSolidJpeg } from './support.js';

test('the family is read from config.json: SigLIP pads to 64 tokens and lowercases, CLIP pads to the longest', () => {
  assert.deepEqual(readModelFamily(models.colorSiglip), {
    name: 'siglip',
    imageOutput: 'pooler_output',
    textOutput: 'pooler_output',
    padToLength: 64,
    lowercase: true,
  });
  assert.deepEqual(readModelFamily(models.colorClip), {
    name: 'clip',
    imageOutput: 'image_embeds',
    textOutput: 'text_embeds',
    padToLength: null,
    lowercase: true,
  });
});

test('SigLIP texts are lowercased, end with <eos> and are padded with <pad> to 64 tokens', async () => {
  const vocab = JSON.parse(readFileSync(join(models.colorSiglip, 'tokenizer.json'), 'utf8')).model.vocab as Record<string, number>;
  const tokenizer = await loadTokenizer(models.colorSiglip, readModelFamily(models.colorSiglip));
  const { ids, dims, attentionMask } = tokenizer.tokenize(['RED', 'אדום car', 'red '.repeat(100)]);
  assert.deepEqual(dims, [3, 64]);
  const row = (r: number) => [...ids.subarray(r * 64, (r + 1) * 64)].map(Number);
  const padded = (tokens: number[]) => [...tokens, ...new Array(64 - tokens.length).fill(vocab['<pad>'])];
  assert.deepEqual(row(0), padded([vocab.red, vocab['<eos>']]));
  assert.deepEqual(row(1), padded([vocab['אדום'], vocab['▁car'], vocab['<eos>']]));
  // A text longer than 64 tokens is cut to 64, not refused (transformers.js cuts
  // after adding <eos>, so the cut text has none).
  assert.deepEqual(row(2), [vocab.red, ...new Array(63).fill(vocab['▁red'])]);
  assert.equal(Number(attentionMask[64 + 3]), 0);
});

test('Hebrew, Arabic, Russian, Chinese and upper-case queries return what "red" does, through the CLI (color-siglip)', async (t) => {
  const dir = tempDir(t);
  const images = join(dir, 'images');
  mkdirSync(images);
  for (const [name, rgb] of Object.entries(COLOURS)) {
    await writeSolidJpeg(join(images, `${name}.jpg`), rgb);
    await writeSolidJpeg(join(images, `${name}-wide.jpg`), rgb, 640, 160); // squashed, not cropped
  }
  const library = join(dir, 'lib');
  const indexed = await runCli(['--library', library, '--model', models.colorSiglip, 'index', images]);
  assert.equal(indexed.code, 0, indexed.stderr);
  const search = async (query: string) => {
    const r = await runCli(['--library', library, 'search-text', query, '--json', '-n', '4']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { results: { path: string; score: number }[] };
  };
  const english = await search('red');
  assert.deepEqual(
    english.results
      .slice(0, 2)
      .map((r) => r.path.replace(/.*\//, ''))
      .sort(),
    ['red-wide.jpg', 'red.jpg'],
  );
  for (const query of ['אדום', 'أحمر', 'красный', '红', 'RED', 'A photo of a Red car']) {
    assert.deepEqual(await search(query), { ...english, query }, `query "${query}"`);
  }
});

test('a model whose graphs do not match its family is refused, naming the file and the output', async (t) => {
  const dir = tempDir(t);
  const copy = join(dir, 'mislabelled');
  cpSync(models.colorSiglip, copy, { recursive: true });
  const config = JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8'));
  writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...config, model_type: 'clip' }));
  const model = await resolveModel({ id: copy, dtype: 'fp32' }, { cacheDir: dir });
  await assert.rejects(TextEncoder.load(model), /text_model\.onnx has no output "text_embeds".*outputs: last_hidden_state, pooler_output/);
  await assert.rejects(ImageEncoder.load(model), /vision_model\.onnx has no output "image_embeds"/);
});
