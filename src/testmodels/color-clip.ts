// color-clip: a tiny but honest CLIP-shaped model whose embedding has one
// dimension per colour (order in colors.ts: red, green, blue, yellow, black,
// white). An image embeds as soft membership of its mean colour in each
// colour prototype; a text embeds as the count of each colour word in it.
// So a search for "red" really ranks red photos first, end to end through the
// tokenizer and onnxruntime.

import { type BpeVocabulary, buildBpeVocabulary, wordTokenId } from './bpe-tokenizer.js';
import { INPUT_IDS, PIXEL_VALUES, imageEmbeds, textEmbeds } from './clip-io.js';
import { COLORS, COLOR_PROTOTYPES, type Color } from './colors.js';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD, type TestModel } from './hf-layout.js';
import { GraphBuilder, type Precision } from './onnx-builder.js';
import { ENGLISH_COLOR_WORDS, ENGLISH_WORDS, MULTILINGUAL_WORDS, OTHER_LANGUAGE_COLOR_WORDS } from './word-lists.js';

const DIM = COLORS.length;

/** Softmax temperature: small enough that a pure colour gets nearly all the mass. */
const TEMPERATURE = 0.05;

/**
 * Added to every text dimension so that a query without colour words embeds as
 * a uniform vector instead of zero (the caller L2-normalises).
 */
const TEXT_BIAS = 1e-3;

/**
 * logits_c = -||rgb - p_c||² / tau = (2·rgb·p_c - ||p_c||² - ||rgb||²) / tau.
 * ||rgb||² is the same for every colour, so softmax ignores it and the logits
 * become one MatMul plus a bias.
 */
function colorVisionModel(precision: Precision): Uint8Array {
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
  const scaled = b.node('Mul', [meanNormalized, b.floatConstant('image_std', [3], CLIP_IMAGE_STD)]);
  const rgb = b.node('Add', [scaled, b.floatConstant('image_mean', [3], CLIP_IMAGE_MEAN)]);
  const affinity = b.node('MatMul', [rgb, b.weight('prototypes', [3, DIM], prototypesT)]);
  const logits = b.node('Add', [affinity, b.floatConstant('prototype_offsets', [DIM], offsets)]);
  b.node('Softmax', [logits], { axis: { int: -1 } }, 'image_embeds');
  return b.toModelBytes('color_clip_vision', [PIXEL_VALUES], [imageEmbeds(DIM)]);
}

/**
 * Each colour word's token embeds one-hot on its colour, every other token
 * (specials and padding included) as zero, so summing over the sequence
 * counts colour words and is unaffected by padding.
 */
function colorTextModel(
  vocabulary: BpeVocabulary,
  colorWords: readonly Record<Color, readonly string[]>[],
  precision: Precision,
): Uint8Array {
  const b = new GraphBuilder(precision);
  const table = new Float32Array(vocabulary.tokens.length * DIM);
  COLORS.forEach((color, c) => {
    for (const words of colorWords) {
      for (const word of words[color]) table[wordTokenId(vocabulary, word) * DIM + c] = 1;
    }
  });

  const tokenEmbeds = b.node('Gather', [b.weight('token_embedding', [vocabulary.tokens.length, DIM], table), INPUT_IDS.name]);
  const counts = b.node('ReduceSum', [tokenEmbeds, b.int64Constant('sequence_axis', [1], [1])], { keepdims: { int: 0 } });
  b.node('Add', [counts, b.floatConstant('text_bias', [DIM], new Float32Array(DIM).fill(TEXT_BIAS))], {}, 'text_embeds');
  return b.toModelBytes('color_clip_text', [INPUT_IDS], [textEmbeds(DIM)]);
}

function colorClip(words: readonly string[], colorWords: readonly Record<Color, readonly string[]>[], note: string): TestModel {
  const vocabulary = buildBpeVocabulary(words);
  return {
    embeddingDim: DIM,
    vocabulary,
    note,
    // No patches or hidden layers: the image is reduced to its mean colour.
    visionConfig: {},
    visionModel: colorVisionModel,
    textModel: (precision) => colorTextModel(vocabulary, colorWords, precision),
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
