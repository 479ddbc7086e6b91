// Writes one model directory in the Hugging Face / transformers.js layout of
// Xenova/clip-vit-base-patch32: JSON side files at the top, graphs in onnx/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Precision } from './onnx-builder.js';
import { type BpeVocabulary, tokenizerConfigJson, tokenizerJson } from './bpe-tokenizer.js';

/** CLIP's pixel normalisation; the colour model undoes exactly this. */
export const CLIP_IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_IMAGE_STD = [0.26862954, 0.26130258, 0.27577711] as const;
export const IMAGE_SIZE = 224;

export interface TestModel {
  /** Embedding dimension (config projection_dim). */
  embeddingDim: number;
  vocabulary: BpeVocabulary;
  /** What the model is for, stored as config.json's "note". */
  note: string;
  /** Extra vision_config fields describing the generated vision graph. */
  visionConfig: Record<string, number>;
  visionModel(precision: Precision): Uint8Array;
  textModel(precision: Precision): Uint8Array;
}

function preprocessorConfigJson(): object {
  return {
    feature_extractor_type: 'CLIPFeatureExtractor',
    image_processor_type: 'CLIPImageProcessor',
    do_resize: true,
    size: { shortest_edge: IMAGE_SIZE },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    do_convert_rgb: true,
    image_mean: [...CLIP_IMAGE_MEAN],
    image_std: [...CLIP_IMAGE_STD],
  };
}

function configJson(model: TestModel): object {
  const { embeddingDim, vocabulary } = model;
  return {
    model_type: 'clip',
    architectures: ['CLIPModel'],
    projection_dim: embeddingDim,
    logit_scale_init_value: 2.6592,
    text_config: {
      model_type: 'clip_text_model',
      vocab_size: vocabulary.tokens.length,
      hidden_size: embeddingDim,
      max_position_embeddings: 77,
      bos_token_id: vocabulary.startOfTextId,
      eos_token_id: vocabulary.endOfTextId,
      pad_token_id: vocabulary.endOfTextId,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      image_size: IMAGE_SIZE,
      num_channels: 3,
      ...model.visionConfig,
    },
    note: model.note,
  };
}

function writeJson(path: string, value: object, indent?: number): void {
  writeFileSync(path, JSON.stringify(value, null, indent) + '\n');
}

export function writeModelDirectory(dir: string, model: TestModel): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeJson(join(dir, 'config.json'), configJson(model), 2);
  writeJson(join(dir, 'preprocessor_config.json'), preprocessorConfigJson(), 2);
  // Compact like the real tokenizer.json: it is the one large JSON file.
  writeJson(join(dir, 'tokenizer.json'), tokenizerJson(model.vocabulary));
  writeJson(join(dir, 'tokenizer_config.json'), tokenizerConfigJson(), 2);
  writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), model.visionModel('fp32'));
  writeFileSync(join(dir, 'onnx', 'text_model.onnx'), model.textModel('fp32'));
  writeFileSync(join(dir, 'onnx', 'vision_model_quantized.onnx'), model.visionModel('q8'));
  writeFileSync(join(dir, 'onnx', 'text_model_quantized.onnx'), model.textModel('q8'));
}
