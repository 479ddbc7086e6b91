// Which family of dual encoder a model directory holds, and what that changes
// around the two ONNX graphs. Both families ship the transformers.js layout
// (onnx/vision_model.onnx, onnx/text_model.onnx, Hugging Face JSON files) and
// both are searched by cosine similarity; they differ in the names of their
// outputs and in how a text must be tokenised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type FamilyName = 'clip' | 'siglip';

export interface ModelFamily {
  name: FamilyName;
  /** The vision graph's embedding output. */
  imageOutput: string;
  /** The text graph's embedding output. */
  textOutput: string;
  /**
   * Pad every text to exactly this many tokens, or null to pad a batch to its
   * longest text. SigLIP's text tower reads its embedding at the last position and
   * was trained on texts padded to 64 tokens: shorter input gives other vectors.
   */
  padToLength: number | null;
  /** Lowercase texts before tokenising (tokenizer_config's do_lower_case). */
  lowercase: boolean;
}

/** SiglipTextConfig's max_position_embeddings default. */
const SIGLIP_TEXT_LENGTH = 64;
/** transformers writes a huge model_max_length when a tokenizer has no limit of its own. */
const NO_LIMIT = 1_000_000;

function readJsonObject(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function positiveInteger(value: unknown): number | null {
  return Number.isInteger(value) && (value as number) > 0 ? (value as number) : null;
}

/**
 * Reads the family from config.json's model_type: "siglip" (SigLIP and the
 * fixed-resolution SigLIP 2 checkpoints) or anything else, read as the CLIP
 * layout of Xenova/clip-vit-base-patch32 (image_embeds / text_embeds).
 */
export function readModelFamily(dir: string): ModelFamily {
  const config = readJsonObject(join(dir, 'config.json'));
  const tokenizerConfig = readJsonObject(join(dir, 'tokenizer_config.json'));
  const lowercase = tokenizerConfig.do_lower_case === true;
  if (config.model_type !== 'siglip') {
    return { name: 'clip', imageOutput: 'image_embeds', textOutput: 'text_embeds', padToLength: null, lowercase };
  }
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
  const tokenizerLimit = positiveInteger(tokenizerConfig.model_max_length);
  const padToLength =
    tokenizerLimit !== null && tokenizerLimit < NO_LIMIT
      ? tokenizerLimit
      : (positiveInteger(textConfig.max_position_embeddings) ?? SIGLIP_TEXT_LENGTH);
  return { name: 'siglip', imageOutput: 'pooler_output', textOutput: 'pooler_output', padToLength, lowercase };
}
