// Reads a Hugging Face preprocessor_config.json written for CLIPImageProcessor or
// SiglipImageProcessor (a fixed height × width resize, no crop: the same steps with
// other settings). Missing fields take CLIPImageProcessor's defaults (transformers,
// models/clip/image_processing_clip.py); anything we cannot reproduce exactly is
// refused with the file and the field named, rather than approximated.
import type { ResampleFilter } from './pil-resample.js';

/** How the image is resized before the centre crop. */
export type ResizeRule =
  /** Short side to `shortestEdge`, long side scaled and truncated (get_resize_output_image_size). */
  | { shortestEdge: number }
  /** Exactly `height` × `width`, aspect ratio ignored. */
  | { height: number; width: number };

export interface PreprocessConfig {
  /** null when do_resize is false. */
  resize: ResizeRule | null;
  /** PIL's filter for the resize. */
  resample: ResampleFilter;
  /** One image becomes a 3 × cropHeight × cropWidth tensor (CHW). */
  cropHeight: number;
  cropWidth: number;
  /** Pixel values are multiplied by this; null when do_rescale is false. */
  rescaleFactor: number | null;
  /** Per-channel (value − mean) / std, RGB order; null when do_normalize is false. */
  normalize: { mean: readonly number[]; std: readonly number[] } | null;
}

// CLIPImageProcessor.__init__ defaults; OPENAI_CLIP_MEAN / OPENAI_CLIP_STD.
const DEFAULT_SIZE = 224;
const DEFAULT_MEAN = [0.48145466, 0.4578275, 0.40821073];
const DEFAULT_STD = [0.26862954, 0.26130258, 0.27577711];
// SiglipImageProcessor.__init__ defaults where they differ: a square resize and
// no crop, IMAGENET_STANDARD_MEAN / _STD.
const SIGLIP_DEFAULTS = { size: { height: 224, width: 224 }, doCenterCrop: false, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
/** The PILImageResampling values our resize reproduces (BICUBIC is CLIP's, BILINEAR SigLIP 2's). */
const FILTERS_BY_CODE: Record<number, ResampleFilter> = { 2: 'bilinear', 3: 'bicubic' };
const BICUBIC = 3;

export function parsePreprocessorConfig(json: unknown, source: string): PreprocessConfig {
  if (!isRecord(json)) throw new Error(`${source}: expected a JSON object`);
  const fields = new FieldReader(json, source);
  const siglip = json.image_processor_type === 'SiglipImageProcessor';

  const resampleCode = fields.positiveInteger('resample', BICUBIC);
  const resample = FILTERS_BY_CODE[resampleCode];
  if (!resample) {
    throw new Error(`${source}: "resample" is ${resampleCode}; only 3 (bicubic) and 2 (bilinear) are supported`);
  }
  // Checked, then not needed: the vision model takes three channels, so every
  // image is converted to RGB whatever this says (CLIP checkpoints say true).
  fields.boolean('do_convert_rgb', true);

  const resize = fields.boolean('do_resize', true) ? fields.resizeRule('size', siglip ? SIGLIP_DEFAULTS.size : undefined) : null;
  const crop = fields.boolean('do_center_crop', siglip ? SIGLIP_DEFAULTS.doCenterCrop : true)
    ? fields.cropSize('crop_size')
    : fixedSize(resize);
  if (!crop) {
    throw new Error(`${source}: "do_center_crop" is false and "size" does not fix both height and width, so tensors would vary in size`);
  }
  const doRescale = fields.boolean('do_rescale', true);
  const rescaleFactor = fields.positiveNumber('rescale_factor', 1 / 255);
  const doNormalize = fields.boolean('do_normalize', true);
  const mean = fields.perChannel('image_mean', siglip ? SIGLIP_DEFAULTS.mean : DEFAULT_MEAN, Number.NEGATIVE_INFINITY);
  const std = fields.perChannel('image_std', siglip ? SIGLIP_DEFAULTS.std : DEFAULT_STD, 0);

  return {
    resize,
    resample,
    cropHeight: crop.height,
    cropWidth: crop.width,
    rescaleFactor: doRescale ? rescaleFactor : null,
    normalize: doNormalize ? { mean, std } : null,
  };
}

function fixedSize(resize: ResizeRule | null): { height: number; width: number } | null {
  return resize && 'height' in resize ? resize : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}

/** Typed access to one config file's fields, with errors that name the file and field. */
class FieldReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly source: string,
  ) {}

  boolean(field: string, fallback: boolean): boolean {
    const value = this.json[field] ?? fallback;
    if (typeof value !== 'boolean') this.fail(field, 'true or false');
    return value;
  }

  positiveInteger(field: string, fallback: number): number {
    const value = this.json[field] ?? fallback;
    if (!isPositiveInteger(value)) this.fail(field, 'a positive integer');
    return value;
  }

  positiveNumber(field: string, fallback: number): number {
    const value = this.json[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) this.fail(field, 'a positive number');
    return value;
  }

  /** `size`: an integer (= shortest_edge, as get_size_dict(default_to_square=False) reads it) or a dict. */
  resizeRule(field: string, fallback: object = { shortest_edge: DEFAULT_SIZE }): ResizeRule {
    const value = this.json[field] ?? fallback;
    if (isPositiveInteger(value)) return { shortestEdge: value };
    if (isRecord(value)) {
      // CLIPImageProcessor.resize checks shortest_edge first, then height and width.
      if (isPositiveInteger(value.shortest_edge)) return { shortestEdge: value.shortest_edge };
      if (value.shortest_edge === undefined && isPositiveInteger(value.height) && isPositiveInteger(value.width)) {
        return { height: value.height, width: value.width };
      }
    }
    this.fail(field, '{"shortest_edge": N}, {"height": H, "width": W} or a positive integer');
  }

  /** `crop_size`: an integer (a square, get_size_dict(default_to_square=True)) or {height, width}. */
  cropSize(field: string): { height: number; width: number } {
    const value = this.json[field] ?? DEFAULT_SIZE;
    if (isPositiveInteger(value)) return { height: value, width: value };
    if (isRecord(value) && isPositiveInteger(value.height) && isPositiveInteger(value.width)) {
      return { height: value.height, width: value.width };
    }
    this.fail(field, '{"height": H, "width": W} or a positive integer');
  }

  /** image_mean / image_std: three numbers (RGB) or one for all channels, each above `exclusiveMin`. */
  perChannel(field: string, fallback: readonly number[], exclusiveMin: number): number[] {
    const value = this.json[field] ?? fallback;
    const values = typeof value === 'number' ? [value, value, value] : value;
    const valid = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > exclusiveMin;
    if (!Array.isArray(values) || values.length !== 3 || !values.every(valid)) {
      const bound = exclusiveMin === 0 ? 'positive ' : '';
      this.fail(field, `three ${bound}numbers (R, G, B) or one ${bound}number`);
    }
    return values as number[];
  }

  private fail(field: string, expected: string): never {
    throw new Error(`${this.source}: "${field}" must be ${expected}; found ${JSON.stringify(this.json[field])}`);
  }
}
