// A CLIP-style byte-level BPE tokenizer generated from a short word list, in
// the tokenizer.json layout of openai/clip-vit-base-patch32 (see
// /work/shared/tools/clip_hf_files.py), so no external vocabulary is needed.
//
// Vocabulary order, as in CLIP: the 256 byte symbols, the same 256 with
// "</w>", one token per merge, then <|startoftext|> and <|endoftext|>.
// Every listed word becomes a single token; any other text still tokenises
// through the byte symbols.

const END_OF_WORD = '</w>';
const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';

export interface BpeVocabulary {
  /** Token strings by id. */
  tokens: string[];
  merges: [string, string][];
  startOfTextId: number;
  endOfTextId: number;
}

/**
 * GPT-2's byte → printable character table, which CLIP's ByteLevel step uses,
 * in CLIP's vocabulary order (printable bytes first, then the shifted rest).
 */
function byteSymbols(): { byte: number; symbol: string }[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = printable.map((b) => ({ byte: b, symbol: String.fromCodePoint(b) }));
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) table.push({ byte: b, symbol: String.fromCodePoint(256 + shifted++) });
  }
  return table;
}

/**
 * The word as the tokenizer will see it: NFC + lowercase (the normaliser),
 * then UTF-8 bytes mapped to byte symbols, "</w>" on the last one.
 */
function wordSymbols(word: string, byteSymbol: Map<number, string>): string[] {
  const normalized = word.normalize('NFC').toLowerCase();
  // The Split pre-tokenizer keeps runs of letters together; anything else
  // would be cut into several pieces and could never be one token.
  if (!/^\p{L}+$/u.test(normalized)) throw new Error(`"${word}" is not a single run of letters`);
  const symbols = [...Buffer.from(normalized, 'utf8')].map((b) => byteSymbol.get(b)!);
  symbols[symbols.length - 1] += END_OF_WORD;
  return symbols;
}

/** Plain BPE: repeatedly merge the adjacent pair of lowest rank, every occurrence left to right, as CLIP does. */
export function applyMerges(symbols: string[], ranks: Map<string, number>): string[] {
  let parts = [...symbols];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        best = i;
        bestRank = rank;
      }
    }
    if (best < 0) return parts;
    const [left, right] = [parts[best], parts[best + 1]];
    const merged: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i + 1 < parts.length && parts[i] === left && parts[i + 1] === right) {
        merged.push(left + right);
        i++;
      } else {
        merged.push(parts[i]);
      }
    }
    parts = merged;
  }
}

/**
 * Merges are derived word by word, left to right: (c1,c2), (c1c2,c3), …,
 * (prefix, last</w>). Rather than appending that chain blindly, each word is
 * first run through the merges learnt so far and the chain continues from
 * whatever they produce. That dedupes shared prefixes and keeps earlier merges
 * (lower rank, applied first) from splitting a later word into pieces that no
 * merge joins. New merges rank after all older ones, so they never change how
 * an earlier word tokenises.
 */
export function buildBpeVocabulary(words: readonly string[]): BpeVocabulary {
  const table = byteSymbols();
  const byteSymbol = new Map(table.map(({ byte, symbol }) => [byte, symbol]));
  const tokens = [...table.map((t) => t.symbol), ...table.map((t) => t.symbol + END_OF_WORD)];
  const known = new Set(tokens);
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();

  for (const word of words) {
    const symbols = wordSymbols(word, byteSymbol);
    // Each pass adds one merge, and each merge shortens the word's encoding.
    for (let parts = applyMerges(symbols, ranks); parts.length > 1; parts = applyMerges(symbols, ranks)) {
      const pair: [string, string] = [parts[0], parts[1]];
      ranks.set(pair.join(' '), merges.length);
      merges.push(pair);
      const token = pair[0] + pair[1];
      if (!known.has(token)) {
        known.add(token);
        tokens.push(token);
      }
    }
  }
  tokens.push(START_OF_TEXT, END_OF_TEXT);
  return { tokens, merges, startOfTextId: tokens.length - 2, endOfTextId: tokens.length - 1 };
}

function specialToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** tokenizer.json, field for field as in CLIP's (normaliser, Split regex, ByteLevel, RobertaProcessing). */
export function tokenizerJson(vocabulary: BpeVocabulary): object {
  const { tokens, merges, startOfTextId, endOfTextId } = vocabulary;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [specialToken(startOfTextId, START_OF_TEXT), specialToken(endOfTextId, END_OF_TEXT)],
    // NFC and Lowercase leave Hebrew, Arabic, Cyrillic and CJK letters intact.
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [END_OF_TEXT, endOfTextId],
      cls: [START_OF_TEXT, startOfTextId],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END_OF_TEXT,
      continuing_subword_prefix: '',
      end_of_word_suffix: END_OF_WORD,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: merges.map((pair) => pair.join(' ')),
    },
  };
}

export function tokenizerConfigJson(): object {
  return {
    tokenizer_class: 'CLIPTokenizer',
    model_max_length: 77,
    do_lower_case: true,
    bos_token: START_OF_TEXT,
    eos_token: END_OF_TEXT,
    pad_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
  };
}

/** Id of the single token a listed word becomes. */
export function wordTokenId(vocabulary: BpeVocabulary, word: string): number {
  const byteSymbol = new Map(byteSymbols().map(({ byte, symbol }) => [byte, symbol]));
  const id = vocabulary.tokens.indexOf(wordSymbols(word, byteSymbol).join(''));
  if (id < 0) throw new Error(`"${word}" is not a token of this vocabulary`);
  return id;
}
