// Input and output signatures shared by every generated CLIP encoder; they
// match the separate vision/text exports of Xenova/clip-vit-base-patch32.

import type { TensorSignature } from './onnx-builder.js';
import { IMAGE_SIZE } from './hf-layout.js';

/** Normalised pixels, [n, 3, 224, 224]. */
export const PIXEL_VALUES: TensorSignature = { name: 'pixel_values', type: 'float32', dims: ['n', 3, IMAGE_SIZE, IMAGE_SIZE] };

/** Token ids, [n, seq]. No attention_mask input, like the real text export. */
export const INPUT_IDS: TensorSignature = { name: 'input_ids', type: 'int64', dims: ['n', 'seq'] };

export function imageEmbeds(dim: number): TensorSignature {
  return { name: 'image_embeds', type: 'float32', dims: ['n', dim] };
}

export function textEmbeds(dim: number): TensorSignature {
  return { name: 'text_embeds', type: 'float32', dims: ['n', dim] };
}
