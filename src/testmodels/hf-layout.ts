// Writes one model directory in the Hugging Face / transformers.js layout of
// Xenova/clip-vit-base-patch32 (or onnx-community/siglip2-base-patch16-224-ONNX):
// JSON side files at the top, graphs in onnx/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Precision } from './onnx-builder.js';
import { type BpeVocabulary, tokenizerConfigJson, tokenizerJson } from './bpe-tokenizer.js';
import { type SentencePieceVocabulary, sentencePieceTokenizerConfigJson, sentencePieceTokenizerJson } from './gemma-tokenizer.js';

/** CLIP's pixel normalisation; the colour model undoes exactly this. */
export const CLIP_IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_IMAGE_STD = [0.26862954, 0.26130258, 0.27577711] as const;
export const IMAGE_SIZE = 224;
/** SigLIP's pixel normalisation (IMAGENET_STANDARD_MEAN / _STD). */
export const SIGLIP_IMAGE_MEAN = [0.5, 0.5, 0.5] as const;
export const SIGLIP_IMAGE_STD = [0.5, 0.5, 0.5] as const;
/** SigLIP's text length: every text is padded to it. */
export const SIGLIP_TEXT_LENGTH = 64;

/** The JSON files beside the graphs. */
export interface ModelJsonFiles {
  config: object;
  preprocessor: object;
  tokenizer: object;
  tokenizerConfig: object;
}

export interface TestModel {
  jsonFiles: ModelJsonFiles;
  visionModel(precision: Precision): Uint8Array;
  textModel(precision: Precision): Uint8Array;
}

export interface ClipModelSpec {
  /** Embedding dimension (config projection_dim). */
  embeddingDim: number;
  vocabulary: BpeVocabulary;
  /** What the model is for, stored as config.json's "note". */
  note: string;
  /** Extra vision_config fields describing the generated vision graph. */
  visionConfig: Record<string, number>;
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

function configJson(model: ClipModelSpec): object {
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

export function clipJsonFiles(spec: ClipModelSpec): ModelJsonFiles {
  return {
    config: configJson(spec),
    preprocessor: preprocessorConfigJson(),
    tokenizer: tokenizerJson(spec.vocabulary),
    tokenizerConfig: tokenizerConfigJson(),
  };
}

/**
 * The files of a fixed-resolution SigLIP 2 checkpoint (google/siglip2-base-patch16-224):
 * model_type "siglip", a 224 × 224 bilinear resize without crop, a Gemma tokenizer.
 */
export function siglipJsonFiles(spec: { embeddingDim: number; vocabulary: SentencePieceVocabulary; note: string }): ModelJsonFiles {
  return {
    config: {
      model_type: 'siglip',
      architectures: ['SiglipModel'],
      text_config: {
        model_type: 'siglip_text_model',
        vocab_size: spec.vocabulary.tokens.length,
        hidden_size: spec.embeddingDim,
        projection_size: spec.embeddingDim,
        max_position_embeddings: SIGLIP_TEXT_LENGTH,
      },
      vision_config: { model_type: 'siglip_vision_model', image_size: IMAGE_SIZE, hidden_size: spec.embeddingDim },
      note: spec.note,
    },
    preprocessor: {
      image_processor_type: 'SiglipImageProcessor',
      processor_class: 'SiglipProcessor',
      do_resize: true,
      size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
      resample: 2,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [...SIGLIP_IMAGE_MEAN],
      image_std: [...SIGLIP_IMAGE_STD],
    },
    tokenizer: sentencePieceTokenizerJson(spec.vocabulary),
    tokenizerConfig: sentencePieceTokenizerConfigJson(SIGLIP_TEXT_LENGTH),
  };
}

export function writeModelDirectory(dir: string, model: TestModel): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files = model.jsonFiles;
  writeJson(join(dir, 'config.json'), files.config, 2);
  writeJson(join(dir, 'preprocessor_config.json'), files.preprocessor, 2);
  // Compact like the real tokenizer.json: it is the one large JSON file.
  writeJson(join(dir, 'tokenizer.json'), files.tokenizer);
  writeJson(join(dir, 'tokenizer_config.json'), files.tokenizerConfig, 2);
  writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), model.visionModel('fp32'));
  writeFileSync(join(dir, 'onnx', 'text_model.onnx'), model.textModel('fp32'));
  writeFileSync(join(dir, 'onnx', 'vision_model_quantized.onnx'), model.visionModel('q8'));
  writeFileSync(join(dir, 'onnx', 'text_model_quantized.onnx'), model.textModel('q8'));
}
