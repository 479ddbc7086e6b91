// Which writing systems a model's tokenizer was built for, measured on its
// vocabulary (tokenizer.json): how many tokens hold letters of each script. A
// vocabulary learnt from text in a language devotes many tokens to its script;
// one learnt from English has only the odd stray. Byte-level BPE vocabularies
// (CLIP) store tokens as GPT-2 byte symbols, decoded here to their text first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The scripts whose letters are counted; others count under none. */
export const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Bengali',
  'Tamil',
  'Thai',
  'Georgian',
  'Hangul',
  'Hiragana',
  'Katakana',
  'Han',
] as const;
export type Script = (typeof SCRIPTS)[number];

const SCRIPT_PATTERNS: [Script, RegExp][] = SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, 'u')]);

/** The script of one character, if it is a letter of a counted script. */
export function scriptOf(char: string): Script | null {
  if (!/\p{L}/u.test(char)) return null;
  for (const [script, pattern] of SCRIPT_PATTERNS) if (pattern.test(char)) return script;
  return null;
}

export interface VocabularyScripts {
  /** Tokens in the vocabulary. */
  tokens: number;
  /** Tokens holding at least one letter of each script. */
  byScript: Partial<Record<Script, number>>;
}

/** GPT-2's byte ↔ printable-symbol table, which byte-level BPE vocabularies are written in. */
function byteSymbolDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Map(printable.map((b) => [String.fromCodePoint(b), b]));
  let shifted = 0;
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) table.set(String.fromCodePoint(256 + shifted++), b);
  return table;
}

interface TokenizerJson {
  model?: { vocab?: Record<string, number> | [string, number][] };
  pre_tokenizer?: unknown;
  decoder?: unknown;
}

/** Counts the scripts of a model directory's tokenizer.json; null when it has none that can be read. */
export function vocabularyScripts(modelDir: string): VocabularyScripts | null {
  let tokenizer: TokenizerJson;
  try {
    tokenizer = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  } catch {
    return null;
  }
  const vocab = tokenizer.model?.vocab;
  if (!vocab) return null;
  const tokens = Array.isArray(vocab) ? vocab.map((entry) => entry[0]) : Object.keys(vocab);
  const byteLevel = /"ByteLevel"/.test(JSON.stringify([tokenizer.pre_tokenizer ?? null, tokenizer.decoder ?? null]));
  const decoder = byteLevel ? byteSymbolDecoder() : null;
  const byScript: Partial<Record<Script, number>> = {};
  for (const token of tokens) {
    const text = decoder ? decodeByteSymbols(token, decoder) : token;
    const seen = new Set<Script>();
    for (const char of text) {
      const script = scriptOf(char);
      if (script) seen.add(script);
    }
    for (const script of seen) byScript[script] = (byScript[script] ?? 0) + 1;
  }
  return { tokens: tokens.length, byScript };
}

/** A byte-level token's text: its symbols as bytes, decoded as UTF-8 (partial characters dropped). */
function decodeByteSymbols(token: string, decoder: Map<string, number>): string {
  const bytes: number[] = [];
  for (const symbol of token.replace(/<\/w>$/, '')) {
    const byte = decoder.get(symbol);
    if (byte === undefined) return token; // a special token written as itself
    bytes.push(byte);
  }
  return Buffer.from(bytes)
    .toString('utf8')
    .replace(/\uFFFD/g, '');
}
