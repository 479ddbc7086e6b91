// A query in a script the library's model was not trained on still runs, but the
// front ends say so and name a model that reads it. What a model reads is
// measured on its tokenizer's vocabulary (src/model/vocabulary-scripts.ts), not
// looked up in a list of model ids:
//
//   vocabulary                           tokens   Latin   most of any other script
//   CLIP ViT-B/32 (OpenAI BPE)           49,408  46,683   68 Hangul, 59 Thai, 49 Arabic,
//                                                         30 Cyrillic, 13 Han, 0 Hebrew
//   color-clip (English test model)         563     155   none
//   color-clip-multilingual                 740     155   94 Cyrillic, 40 Hebrew, 32 Arabic, 6 Han
//   color-siglip (Gemma-style, multilingual) 506    347   69 Cyrillic, 38 Hebrew, 39 Arabic, 12 Han
//
// CLIP's stray non-Latin tokens are at most 0.14% of its vocabulary; the
// multilingual models give each of their scripts at least 0.8%. A script counts
// as read when at least READS_SCRIPT_SHARE of the vocabulary holds its letters.
import type { ModelSpec } from '../model/model-files.js';
import { scriptOf, type Script, type VocabularyScripts } from '../model/vocabulary-scripts.js';
import { reembedCommand } from '../catalog/types.js';

/** The multilingual model the README recommends for queries in any language. */
export const MULTILINGUAL_MODEL = 'onnx-community/siglip2-base-patch16-224-ONNX';

/** Share of the vocabulary a script's tokens must reach for the model to count as reading it. */
export const READS_SCRIPT_SHARE = 0.0025;

const SCRIPT_NAMES: Partial<Record<Script, string>> = { Han: 'Chinese characters (Han)', Hangul: 'Korean (Hangul)' };

export function readsScript(vocabulary: VocabularyScripts, script: Script): boolean {
  const tokens = vocabulary.byScript[script] ?? 0;
  return tokens > 0 && tokens >= READS_SCRIPT_SHARE * vocabulary.tokens;
}

/** The scripts of the letters in the texts, in order of first appearance. */
export function scriptsOf(texts: readonly string[]): Script[] {
  const found = new Set<Script>();
  for (const text of texts) {
    for (const char of text) {
      const script = scriptOf(char);
      if (script) found.add(script);
    }
  }
  return [...found];
}

export interface LanguageNotice {
  code: 'unread-script';
  /** The query's scripts that the model was not trained on. */
  scripts: string[];
  /** A model that reads them. */
  suggestedModel: string;
  message: string;
}

/** The notice for texts whose scripts the model does not read, or null. */
export function languageNotice(model: ModelSpec, vocabulary: VocabularyScripts, texts: readonly string[]): LanguageNotice | null {
  const unread = scriptsOf(texts).filter((s) => !readsScript(vocabulary, s));
  if (unread.length === 0) return null;
  const names = unread.map((s) => SCRIPT_NAMES[s] ?? s);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  const readsOnlyLatin = Object.keys(vocabulary.byScript).every((s) => s === 'Latin' || !readsScript(vocabulary, s as Script));
  const what = readsOnlyLatin ? 'reads English only' : `was not trained on ${list}`;
  return {
    code: 'unread-script',
    scripts: unread,
    suggestedModel: MULTILINGUAL_MODEL,
    message:
      `the library's model ${model.id} ${what}, so a query in ${list} means little to it and these results are weak. ` +
      `For ${list}, switch the library to a multilingual model such as ${MULTILINGUAL_MODEL}; search keeps working while it ` +
      `re-embeds: ${reembedCommand({ id: MULTILINGUAL_MODEL, dtype: model.dtype })} --switch`,
  };
}
