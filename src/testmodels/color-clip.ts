// color-clip: a tiny but honest CLIP-shaped model whose embedding has one
// dimension per colour (order in colors.ts: red, green, blue, yellow, black,
// white). An image embeds as soft membership of its mean colour in each
// colour prototype; a text embeds as the count of each colour word in it.
// So a search for "red" really ranks red photos first, end to end through the
// tokenizer and onnxruntime. color-siglip is the same model in SigLIP 2's layout.

import { buildBpeVocabulary, wordTokenId } from './bpe-tokenizer.js';
import { INPUT_IDS, PIXEL_VALUES, imageEmbeds, textEmbeds } from './clip-io.js';
import { COLORS, COLOR_PROTOTYPES, type Color } from './colors.js';
import { buildSentencePieceVocabulary, wordTokenIds } from './gemma-tokenizer.js';
import {
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  SIGLIP_IMAGE_MEAN,
  SIGLIP_IMAGE_STD,
  SIGLIP_TEXT_LENGTH,
  clipJsonFiles,
  siglipJsonFiles,
  type TestModel,
} from './hf-layout.js';
import { GraphBuilder, type Precision, type TensorSignature } from './onnx-builder.js';
import { ENGLISH_COLOR_WORDS, ENGLISH_WORDS, MULTILINGUAL_WORDS, OTHER_LANGUAGE_COLOR_WORDS } from './word-lists.js';

const DIM = COLORS.length;

/** Softmax temperature: small enough that a pure colour gets nearly all the mass. */
const TEMPERATURE = 0.05;

/**
 * Added to every text dimension so that a query without colour words embeds as
 * a uniform vector instead of zero (the caller L2-normalises).
 */
const TEXT_BIAS = 1e-3;

/** What differs between the CLIP and the SigLIP layout of the same graphs. */
interface Layout {
  mean: readonly number[];
  std: readonly number[];
  inputIds: TensorSignature;
  /** Name of the embedding output of both graphs. */
  output: string;
  /** A second output before it, as real exports have (last_hidden_state): the embedding is found by name. */
  hiddenOutput: boolean;
}

const CLIP_LAYOUT: Layout = { mean: CLIP_IMAGE_MEAN, std: CLIP_IMAGE_STD, inputIds: INPUT_IDS, output: '', hiddenOutput: false };

/** onnx-community/siglip2-*-ONNX: pooler_output after last_hidden_state, and texts of exactly 64 tokens. */
const SIGLIP_LAYOUT: Layout = {
  mean: SIGLIP_IMAGE_MEAN,
  std: SIGLIP_IMAGE_STD,
  inputIds: { ...INPUT_IDS, dims: ['n', SIGLIP_TEXT_LENGTH] },
  output: 'pooler_output',
  hiddenOutput: true,
};

/**
 * logits_c = -||rgb - p_c||² / tau = (2·rgb·p_c - ||p_c||² - ||rgb||²) / tau.
 * ||rgb||² is the same for every colour, so softmax ignores it and the logits
 * become one MatMul plus a bias.
 */
function colorVisionModel(precision: Precision, layout: Layout): Uint8Array {
  const b = new GraphBuilder(precision);
  const prototypesT = new Float32Array(3 * DIM); // [3, DIM]: 2·Pᵀ/tau
  const offsets = new Float32Array(DIM); // -||p_c||²/tau
  COLORS.forEach((color, c) => {
    const p = COLOR_PROTOTYPES[color];
    for (let channel = 0; channel < 3; channel++) prototypesT[channel * DIM + c] = (2 * p[channel]) / TEMPERATURE;
    offsets[c] = -(p[0] ** 2 + p[1] ** 2 + p[2] ** 2) / TEMPERATURE;
  });

  // Averaging first and undoing the normalisation after is the same affine
  // map as the other way round, and touches 3 numbers instead of 150 528.
  const meanNormalized = b.node('ReduceMean', [PIXEL_VALUES.name], { axes: { ints: [2, 3] }, keepdims: { int: 0 } });
  const scaled = b.node('Mul', [meanNormalized, b.floatConstant('image_std', [3], layout.std)]);
  const rgb = b.node('Add', [scaled, b.floatConstant('image_mean', [3], layout.mean)]);
  const affinity = b.node('MatMul', [rgb, b.weight('prototypes', [3, DIM], prototypesT)]);
  const logits = b.node('Add', [affinity, b.floatConstant('prototype_offsets', [DIM], offsets)]);
  const output = layout.output ? { ...imageEmbeds(DIM), name: layout.output } : imageEmbeds(DIM);
  b.node('Softmax', [logits], { axis: { int: -1 } }, output.name);
  if (!layout.hiddenOutput) return b.toModelBytes('color_clip_vision', [PIXEL_VALUES], [output]);
  // Stands in for the patch states: the mean colour as a sequence of one.
  b.node('Unsqueeze', [rgb, b.int64Constant('sequence_axis', [1], [1])], {}, 'last_hidden_state');
  const hidden: TensorSignature = { name: 'last_hidden_state', type: 'float32', dims: ['n', 1, 3] };
  return b.toModelBytes('color_clip_vision', [PIXEL_VALUES], [hidden, output]);
}

/**
 * Each colour word's token embeds one-hot on its colour, every other token
 * (specials and padding included) as zero, so summing over the sequence
 * counts colour words and is unaffected by padding.
 */
function colorTextModel(
  vocabularySize: number,
  tokenIds: (word: string) => number[],
  colorWords: readonly Record<Color, readonly string[]>[],
  precision: Precision,
  layout: Layout,
): Uint8Array {
  const b = new GraphBuilder(precision);
  const table = new Float32Array(vocabularySize * DIM);
  COLORS.forEach((color, c) => {
    for (const words of colorWords) {
      for (const word of words[color]) for (const id of tokenIds(word)) table[id * DIM + c] = 1;
    }
  });

  const input = layout.inputIds;
  const tokenEmbeds = b.node(
    'Gather',
    [b.weight('token_embedding', [vocabularySize, DIM], table), input.name],
    {},
    layout.hiddenOutput ? 'last_hidden_state' : undefined,
  );
  const counts = b.node('ReduceSum', [tokenEmbeds, b.int64Constant('sequence_axis', [1], [1])], { keepdims: { int: 0 } });
  const output = layout.output ? { ...textEmbeds(DIM), name: layout.output } : textEmbeds(DIM);
  b.node('Add', [counts, b.floatConstant('text_bias', [DIM], new Float32Array(DIM).fill(TEXT_BIAS))], {}, output.name);
  if (!layout.hiddenOutput) return b.toModelBytes('color_clip_text', [input], [output]);
  const hidden: TensorSignature = { name: 'last_hidden_state', type: 'float32', dims: ['n', input.dims[1], DIM] };
  return b.toModelBytes('color_clip_text', [input], [hidden, output]);
}

function colorClip(words: readonly string[], colorWords: readonly Record<Color, readonly string[]>[], note: string): TestModel {
  const vocabulary = buildBpeVocabulary(words);
  return {
    // No patches or hidden layers: the image is reduced to its mean colour.
    jsonFiles: clipJsonFiles({ embeddingDim: DIM, vocabulary, note, visionConfig: {} }),
    visionModel: (precision) => colorVisionModel(precision, CLIP_LAYOUT),
    textModel: (precision) =>
      colorTextModel(vocabulary.tokens.length, (word) => [wordTokenId(vocabulary, word)], colorWords, precision, CLIP_LAYOUT),
  };
}

const ORDER_NOTE = `dimensions: ${COLORS.join(', ')}`;

export function colorClipModel(): TestModel {
  return colorClip(
    ENGLISH_WORDS,
    [ENGLISH_COLOR_WORDS],
    `Generated test model (picsift make-test-models), not a trained CLIP: one embedding dimension per colour (${ORDER_NOTE}); images embed by mean colour, texts by English colour words.`,
  );
}

export function colorClipMultilingualModel(): TestModel {
  return colorClip(
    MULTILINGUAL_WORDS,
    [ENGLISH_COLOR_WORDS, OTHER_LANGUAGE_COLOR_WORDS],
    `Generated test model (picsift make-test-models), not a trained CLIP: one embedding dimension per colour (${ORDER_NOTE}); images embed by mean colour, texts by colour words in English, Hebrew, Arabic, Russian and Chinese.`,
  );
}

/**
 * The multilingual colour model in the layout of a fixed-resolution SigLIP 2
 * export: model_type "siglip", pooler_output, a Gemma-style tokenizer that
 * lowercases and pads every text to 64 tokens (the graph accepts no other
 * length), a 224 × 224 bilinear resize without crop and mean/std 0.5.
 */
export function colorSiglipModel(): TestModel {
  const vocabulary = buildSentencePieceVocabulary(MULTILINGUAL_WORDS);
  const note = `Generated test model (picsift make-test-models), not a trained SigLIP: one embedding dimension per colour (${ORDER_NOTE}); images embed by mean colour, texts by colour words in English, Hebrew, Arabic, Russian and Chinese; laid out as a SigLIP 2 ONNX export.`;
  return {
    jsonFiles: siglipJsonFiles({ embeddingDim: DIM, vocabulary, note }),
    visionModel: (precision) => colorVisionModel(precision, SIGLIP_LAYOUT),
    textModel: (precision) =>
      colorTextModel(
        vocabulary.tokens.length,
        (word) => wordTokenIds(vocabulary, word),
        [ENGLISH_COLOR_WORDS, OTHER_LANGUAGE_COLOR_WORDS],
        precision,
        SIGLIP_LAYOUT,
      ),
  };
}
