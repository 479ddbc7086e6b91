// tiny-clip: small random CLIP-shaped encoders (embedding dim 32) for
// exercising code paths (shapes, batching, storage) quickly. Meaningless
// embeddings, but deterministic: weights come from a seeded PRNG.

import { buildBpeVocabulary } from './bpe-tokenizer.js';
import { INPUT_IDS, PIXEL_VALUES, imageEmbeds, textEmbeds } from './clip-io.js';
import { IMAGE_SIZE, clipJsonFiles, type TestModel } from './hf-layout.js';
import { GraphBuilder, type Precision } from './onnx-builder.js';
import { seededRandom, uniformWeights } from './prng.js';
import { ENGLISH_WORDS } from './word-lists.js';

const DIM = 32;
const PATCH = 32;
const CHANNELS = 8;
const PATCH_FEATURES = CHANNELS * (IMAGE_SIZE / PATCH) ** 2; // 8·7·7 = 392

const VISION_SEED = 0x7c11;
const TEXT_SEED = 0x7e47;

/** Conv(3→8, kernel 32, stride 32) → Flatten → MatMul [392, 32]. */
function tinyVisionModel(precision: Precision): Uint8Array {
  const random = seededRandom(VISION_SEED);
  const convFanIn = 3 * PATCH * PATCH;
  const convWeights = uniformWeights(random, CHANNELS * convFanIn, 1 / Math.sqrt(convFanIn));
  const convBias = uniformWeights(random, CHANNELS, 0.1);
  const projection = uniformWeights(random, PATCH_FEATURES * DIM, 1 / Math.sqrt(PATCH_FEATURES));

  const b = new GraphBuilder(precision);
  const patches = b.node(
    'Conv',
    [
      PIXEL_VALUES.name,
      b.weight('patch_conv', [CHANNELS, 3, PATCH, PATCH], convWeights),
      b.floatConstant('patch_bias', [CHANNELS], convBias),
    ],
    { kernel_shape: { ints: [PATCH, PATCH] }, strides: { ints: [PATCH, PATCH] } },
  );
  const flat = b.node('Flatten', [patches], { axis: { int: 1 } });
  b.node('MatMul', [flat, b.weight('visual_projection', [PATCH_FEATURES, DIM], projection)], {}, 'image_embeds');
  return b.toModelBytes('tiny_clip_vision', [PIXEL_VALUES], [imageEmbeds(DIM)]);
}

/**
 * Gather → ReduceSum over the sequence → MatMul [32, 32]. The pad token
 * (<|endoftext|>) embeds as zero and the sum ignores it, so a query gets the
 * same embedding alone or padded in a batch, as with the real CLIP.
 */
function tinyTextModel(vocabSize: number, padId: number, precision: Precision): Uint8Array {
  const random = seededRandom(TEXT_SEED);
  const tokenEmbedding = uniformWeights(random, vocabSize * DIM, 1);
  tokenEmbedding.fill(0, padId * DIM, (padId + 1) * DIM);
  const projection = uniformWeights(random, DIM * DIM, 1 / Math.sqrt(DIM));

  const b = new GraphBuilder(precision);
  const tokenEmbeds = b.node('Gather', [b.weight('token_embedding', [vocabSize, DIM], tokenEmbedding), INPUT_IDS.name]);
  const summed = b.node('ReduceSum', [tokenEmbeds, b.int64Constant('sequence_axis', [1], [1])], { keepdims: { int: 0 } });
  b.node('MatMul', [summed, b.weight('text_projection', [DIM, DIM], projection)], {}, 'text_embeds');
  return b.toModelBytes('tiny_clip_text', [INPUT_IDS], [textEmbeds(DIM)]);
}

export function tinyClipModel(): TestModel {
  const vocabulary = buildBpeVocabulary(ENGLISH_WORDS);
  return {
    jsonFiles: clipJsonFiles({
      embeddingDim: DIM,
      vocabulary,
      note: 'Generated test model (picsift make-test-models) with RANDOM weights: CLIP-shaped inputs and outputs for exercising code paths; its embeddings mean nothing.',
      visionConfig: { hidden_size: CHANNELS, patch_size: PATCH },
    }),
    visionModel: tinyVisionModel,
    textModel: (precision) => tinyTextModel(vocabulary.tokens.length, vocabulary.endOfTextId, precision),
  };
}
