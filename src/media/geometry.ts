// Resize and crop arithmetic, exactly as transformers computes it; an off-by-one
// here shifts every pixel of the tensor.
import type { ResizeRule } from './preprocessor-config.js';

export interface Size {
  width: number;
  height: number;
}

/**
 * get_resize_output_image_size(default_to_square=False): the short side becomes
 * `shortestEdge` and the long side int(shortestEdge * long / short), truncated
 * like Python's int() (and torchvision's Resize), never rounded.
 */
export function resizedSize(image: Size, rule: ResizeRule): Size {
  if (!('shortestEdge' in rule)) return { width: rule.width, height: rule.height };
  const edge = rule.shortestEdge;
  const { width, height } = image;
  return width <= height
    ? { width: edge, height: Math.trunc((edge * height) / width) }
    : { width: Math.trunc((edge * width) / height), height: edge };
}

/**
 * center_crop(): the crop's top-left corner in the resized image, floor((size − crop) / 2).
 * Negative when the crop is larger than the image, which is then padded with zeros.
 */
export function cropOrigin(image: Size, crop: Size): { top: number; left: number } {
  return {
    top: Math.floor((image.height - crop.height) / 2),
    left: Math.floor((image.width - crop.width) / 2),
  };
}
