// A whole query: the base term (weight 1) plus any added or subtracted text and
// image terms, turned into one vector. Text terms are encoded in one model call.
import type { Catalog } from '../catalog/ports.js';
import { combineQuery, parseWeighted, type QueryTerm } from '../search/query-vector.js';
import { invalidVectorReason } from '../util/vectors.js';
import { parseImageRef, storedImageVector, type ImageRef } from './image-query.js';

export type TermSource = { text: string } | { image: ImageRef };

export interface WeightedTerm {
  source: TermSource;
  /** Signed: subtracted terms are negative. */
  weight: number;
}

export interface ExtraTerms {
  add?: string[];
  subtract?: string[];
  addImage?: string[];
  subtractImage?: string[];
}

/** Option names for messages, e.g. { add: '--add', … } on the command line. */
export type TermNames = Record<keyof ExtraTerms, string>;

export const CLI_TERM_NAMES: TermNames = {
  add: '--add',
  subtract: '--subtract',
  addImage: '--add-image',
  subtractImage: '--subtract-image',
};

/** Parses "[WEIGHT:]VALUE" options into signed terms; throws with the option's name on a bad one. */
export function parseExtraTerms(extra: ExtraTerms, names: TermNames, imageRef = parseImageRef): WeightedTerm[] {
  const terms: WeightedTerm[] = [];
  const each = (key: keyof ExtraTerms, sign: 1 | -1, make: (value: string) => TermSource) => {
    for (const spec of extra[key] ?? []) {
      const { weight, value } = parseWeighted(spec, names[key]);
      terms.push({ source: make(value), weight: sign * weight });
    }
  };
  each('add', 1, (text) => ({ text }));
  each('subtract', -1, (text) => ({ text }));
  each('addImage', 1, (value) => ({ image: imageRef(value, names.addImage) }));
  each('subtractImage', -1, (value) => ({ image: imageRef(value, names.subtractImage) }));
  return terms;
}

export interface TermEncoders {
  encodeTexts: (texts: string[]) => Promise<Float32Array>;
  /** Embeds an image file; absent where only catalogued images can be terms (the API). */
  encodeImageFile?: (path: string) => Promise<Float32Array>;
}

export async function queryVector(
  catalog: Pick<Catalog, 'vectors' | 'images'>,
  terms: readonly WeightedTerm[],
  encoders: TermEncoders,
): Promise<Float32Array> {
  const texts = terms.flatMap((t) => ('text' in t.source ? [t.source.text] : []));
  const encoded = texts.length ? await encoders.encodeTexts(texts) : new Float32Array(0);
  const dims = texts.length ? encoded.length / texts.length : 0;
  let nextText = 0;
  const vectors: QueryTerm[] = [];
  for (const term of terms) {
    let vector: Float32Array;
    if ('text' in term.source) {
      vector = encoded.subarray(nextText * dims, (nextText + 1) * dims);
      nextText++;
      const invalid = invalidVectorReason(vector);
      if (invalid) throw new Error(`cannot search for "${term.source.text}": ${invalid.replace('this image', 'this text')}`);
    } else if ('id' in term.source.image) {
      vector = await storedImageVector(catalog, term.source.image.id);
    } else {
      if (!encoders.encodeImageFile) throw new Error('image files cannot be query terms here; use a catalogue id');
      vector = await encoders.encodeImageFile(term.source.image.path);
    }
    vectors.push({ vector, weight: term.weight });
  }
  return combineQuery(vectors);
}
