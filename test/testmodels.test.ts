// The generated test models, checked through the same libraries picsift uses:
// transformers.js for the tokenizer, onnxruntime-node for the graphs.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { COLORS, COLOR_PROTOTYPES } from '../src/testmodels/colors.js';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD } from '../src/testmodels/hf-layout.js';
import { ENGLISH_COLOR_WORDS, ENGLISH_WORDS, MULTILINGUAL_WORDS, OTHER_LANGUAGE_COLOR_WORDS } from '../src/testmodels/word-lists.js';
import { writeTestModels } from '../src/testmodels/write-test-models.js';
import { cosine } from './support.js';

env.allowRemoteModels = false;

const SIZE = 224;
const MODEL_WORDS: Record<string, readonly string[]> = {
  'tiny-clip': ENGLISH_WORDS,
  'color-clip': ENGLISH_WORDS,
  'color-clip-multilingual': MULTILINGUAL_WORDS,
};
const EMBEDDING_DIM: Record<string, number> = { 'tiny-clip': 32, 'color-clip': 6, 'color-clip-multilingual': 6 };

let outDir: string;
const modelDir = (name: string) => join(outDir, name);

before(() => {
  outDir = mkdtempSync(join(tmpdir(), 'picsift-testmodels-'));
  writeTestModels(outDir);
});

after(() => rmSync(outDir, { recursive: true, force: true }));

// --- helpers ---------------------------------------------------------------

const sessions = new Map<string, ort.InferenceSession>();
async function session(model: string, file: string): Promise<ort.InferenceSession> {
  const path = join(modelDir(model), 'onnx', file);
  if (!sessions.has(path)) sessions.set(path, await ort.InferenceSession.create(path));
  return sessions.get(path)!;
}

const tokenizers = new Map<string, PreTrainedTokenizer>();
async function tokenizer(model: string): Promise<PreTrainedTokenizer> {
  if (!tokenizers.has(model)) tokenizers.set(model, await AutoTokenizer.from_pretrained(modelDir(model)));
  return tokenizers.get(model)!;
}

async function tokenIds(model: string, texts: string[]): Promise<ort.Tensor> {
  const { input_ids } = (await tokenizer(model))(texts, { padding: true, truncation: true });
  return new ort.Tensor('int64', input_ids.data as BigInt64Array, input_ids.dims);
}

/** Rows of a [n, dim] output as separate vectors. */
function rows(tensor: ort.Tensor): Float32Array[] {
  const [n, dim] = tensor.dims;
  const data = tensor.data as Float32Array;
  return Array.from({ length: n }, (_, i) => data.slice(i * dim, (i + 1) * dim));
}

async function embedTexts(model: string, texts: string[], quantized = false): Promise<Float32Array[]> {
  const s = await session(model, quantized ? 'text_model_quantized.onnx' : 'text_model.onnx');
  const { text_embeds } = await s.run({ input_ids: await tokenIds(model, texts) });
  return rows(text_embeds);
}

async function embedImages(model: string, pixels: ort.Tensor, quantized = false): Promise<Float32Array[]> {
  const s = await session(model, quantized ? 'vision_model_quantized.onnx' : 'vision_model.onnx');
  const { image_embeds } = await s.run({ pixel_values: pixels });
  return rows(image_embeds);
}

/** A batch of flat-colour images, already normalised the way CLIPImageProcessor does. */
function flatColorImages(colors: readonly (readonly number[])[]): ort.Tensor {
  const plane = SIZE * SIZE;
  const data = new Float32Array(colors.length * 3 * plane);
  colors.forEach((rgb, i) => {
    for (let c = 0; c < 3; c++) {
      data.fill((rgb[c] - CLIP_IMAGE_MEAN[c]) / CLIP_IMAGE_STD[c], (i * 3 + c) * plane, (i * 3 + c + 1) * plane);
    }
  });
  return new ort.Tensor('float32', data, [colors.length, 3, SIZE, SIZE]);
}

/** Deterministic noise images for the random model. */
function noiseImages(n: number): ort.Tensor {
  const data = new Float32Array(n * 3 * SIZE * SIZE);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.731) * 1.5;
  return new ort.Tensor('float32', data, [n, 3, SIZE, SIZE]);
}

function argmax(v: Float32Array): number {
  return v.indexOf(Math.max(...v));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

// --- layout and tokenizers ---------------------------------------------------

describe('generated model directories', () => {
  test('have the transformers.js CLIP layout', () => {
    for (const model of Object.keys(MODEL_WORDS)) {
      assert.deepEqual(filesUnder(modelDir(model)), [
        'config.json',
        'onnx/text_model.onnx',
        'onnx/text_model_quantized.onnx',
        'onnx/vision_model.onnx',
        'onnx/vision_model_quantized.onnx',
        'preprocessor_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      const config = JSON.parse(readFileSync(join(modelDir(model), 'config.json'), 'utf8'));
      assert.equal(config.model_type, 'clip');
      assert.equal(config.projection_dim, EMBEDDING_DIM[model]);
      assert.match(config.note, /generated test model/i);
      const preprocessor = JSON.parse(readFileSync(join(modelDir(model), 'preprocessor_config.json'), 'utf8'));
      assert.equal(preprocessor.image_processor_type, 'CLIPImageProcessor');
      assert.deepEqual(preprocessor.image_std, [...CLIP_IMAGE_STD]);
    }
  });

  test('are byte-identical when generated again', () => {
    const again = mkdtempSync(join(tmpdir(), 'picsift-testmodels-'));
    try {
      writeTestModels(again);
      const files = filesUnder(outDir);
      assert.deepEqual(filesUnder(again), files);
      for (const file of files) {
        assert.ok(readFileSync(join(outDir, file)).equals(readFileSync(join(again, file))), `${file} differs`);
      }
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
});

describe('tokenizers', () => {
  for (const [model, words] of Object.entries(MODEL_WORDS)) {
    test(`${model}: every listed word is one token between the specials`, async () => {
      const { text_config } = JSON.parse(readFileSync(join(modelDir(model), 'config.json'), 'utf8'));
      const [startOfText, endOfText] = [text_config.bos_token_id, text_config.eos_token_id];
      const ids = new Set<bigint>();
      for (const word of words) {
        const data = [...((await tokenIds(model, [word])).data as BigInt64Array)].map(Number);
        assert.equal(data.length, 3, `"${word}" → ${data}`);
        assert.deepEqual([data[0], data[2]], [startOfText, endOfText]);
        ids.add(BigInt(data[1]));
        // The normaliser lowercases, so capitals reach the same token.
        const upper = [...((await tokenIds(model, [word.toUpperCase()])).data as BigInt64Array)].map(Number);
        assert.deepEqual(upper, data, `"${word.toUpperCase()}"`);
      }
      assert.equal(ids.size, words.length, 'distinct words share a token');
    });

    test(`${model}: other text falls back to byte symbols`, async () => {
      const data = [...((await tokenIds(model, ['Zebra-crossing, 2024!'])).data as BigInt64Array)].map(Number);
      const inner = data.slice(1, -1);
      assert.ok(inner.length > 5);
      // Ids below 512 are the byte symbols (with and without "</w>"): nothing became <unk>.
      assert.ok(
        inner.every((id) => id < 512),
        `${inner}`,
      );
    });
  }
});

// --- graphs ------------------------------------------------------------------

describe('encoders', () => {
  for (const model of Object.keys(MODEL_WORDS)) {
    for (const suffix of ['', '_quantized']) {
      test(`${model}${suffix}: CLIP input and output names, types and shapes`, async () => {
        const dim = EMBEDDING_DIM[model];
        const vision = await session(model, `vision_model${suffix}.onnx`);
        assert.deepEqual(vision.inputMetadata, [{ name: 'pixel_values', isTensor: true, type: 'float32', shape: ['n', 3, 224, 224] }]);
        assert.deepEqual(vision.outputMetadata, [{ name: 'image_embeds', isTensor: true, type: 'float32', shape: ['n', dim] }]);
        const text = await session(model, `text_model${suffix}.onnx`);
        assert.deepEqual(text.inputMetadata, [{ name: 'input_ids', isTensor: true, type: 'int64', shape: ['n', 'seq'] }]);
        assert.deepEqual(text.outputMetadata, [{ name: 'text_embeds', isTensor: true, type: 'float32', shape: ['n', dim] }]);
      });
    }
  }

  test('tiny-clip: batches give [n, 32], and padding does not change a text embedding', async () => {
    const images = await embedImages('tiny-clip', noiseImages(2));
    assert.equal(images.length, 2);
    assert.ok(images.every((v) => v.length === 32 && v.every(Number.isFinite)));
    assert.ok(cosine(images[0], images[1]) < 0.999, 'different images embed differently');

    const [alone] = await embedTexts('tiny-clip', ['dog']);
    const batch = await embedTexts('tiny-clip', ['dog', 'a photo of the dog at the beach at sunset']);
    assert.equal(alone.length, 32);
    assert.deepEqual(batch[0], alone);
  });

  test('q8 files really store int8 weights and give close, not identical, outputs', async () => {
    const { onnx } = onnxProto;
    for (const model of Object.keys(MODEL_WORDS)) {
      for (const name of ['vision_model', 'text_model']) {
        const fp32 = readFileSync(join(modelDir(model), 'onnx', `${name}.onnx`));
        const q8 = readFileSync(join(modelDir(model), 'onnx', `${name}_quantized.onnx`));
        assert.ok(!fp32.equals(q8));
        const graph = onnx.ModelProto.decode(q8).graph!;
        assert.ok(
          graph.initializer!.some((t) => t.dataType === onnx.TensorProto.DataType.INT8),
          `${model} ${name}`,
        );
        assert.ok(graph.node!.some((n) => n.opType === 'DequantizeLinear'));
      }
    }

    const pixels = noiseImages(3);
    const [images, imagesQ8] = [await embedImages('tiny-clip', pixels), await embedImages('tiny-clip', pixels, true)];
    const texts = ['red', 'a photo of the cat', 'people at the beach'];
    const [textVecs, textVecsQ8] = [await embedTexts('tiny-clip', texts), await embedTexts('tiny-clip', texts, true)];
    for (const [a, b] of [...images.map((v, i) => [v, imagesQ8[i]]), ...textVecs.map((v, i) => [v, textVecsQ8[i]])]) {
      assert.ok(cosine(a, b) > 0.99, `cosine ${cosine(a, b)}`);
      assert.notDeepEqual(a, b);
    }
  });
});

describe('color-clip', () => {
  const pureColors = COLORS.map((c) => COLOR_PROTOTYPES[c]);

  for (const model of ['color-clip', 'color-clip-multilingual']) {
    for (const quantized of [false, true]) {
      test(`${model}${quantized ? ' (q8)' : ''}: each colour's word ranks its own image first`, async () => {
        const images = await embedImages(model, flatColorImages(pureColors), quantized);
        const texts = await embedTexts(
          model,
          COLORS.map((c) => ENGLISH_COLOR_WORDS[c][0]),
          quantized,
        );
        COLORS.forEach((color, c) => {
          assert.equal(argmax(images[c]), c, `${color} image → ${images[c]}`);
          const own = cosine(texts[c], images[c]);
          images.forEach((other, o) => {
            if (o !== c) assert.ok(own > cosine(texts[c], other), `"${color}" vs ${COLORS[o]} image`);
          });
        });
      });
    }
  }

  test('a muted colour still lands on the nearest prototype', async () => {
    const [dullRed, paleBlue, darkGrey] = await embedImages(
      'color-clip',
      flatColorImages([
        [0.8, 0.2, 0.15],
        [0.3, 0.35, 0.9],
        [0.1, 0.1, 0.12],
      ]),
    );
    assert.equal(COLORS[argmax(dullRed)], 'red');
    assert.equal(COLORS[argmax(paleBlue)], 'blue');
    assert.equal(COLORS[argmax(darkGrey)], 'black');
  });

  test('a query with no colour word gives a finite, uniform vector', async () => {
    const [vector] = await embedTexts('color-clip', ['a photo of the dog at the beach']);
    assert.ok(vector.every((x) => Number.isFinite(x) && x > 0));
    assert.ok(Math.max(...vector) - Math.min(...vector) < 1e-9);
  });

  test('colour words in a sentence count, the other words do not', async () => {
    const [sentence, word] = await embedTexts('color-clip', ['A photo of the yellow car at sunset', 'yellow']);
    assert.ok(cosine(sentence, word) > 0.999999);
  });

  test('the English-only model ignores other languages', async () => {
    const [hebrew] = await embedTexts('color-clip', ['אדום']);
    assert.ok(Math.max(...hebrew) - Math.min(...hebrew) < 1e-9);
  });

  test('multilingual: every colour word gives the same vector as its English twin', async () => {
    for (const color of COLORS) {
      const words = OTHER_LANGUAGE_COLOR_WORDS[color];
      const [english, ...others] = await embedTexts('color-clip-multilingual', [ENGLISH_COLOR_WORDS[color][0], ...words]);
      others.forEach((vector, i) => assert.ok(cosine(vector, english) > 0.999999, `${words[i]} vs ${color}`));
    }
  });
});
