// A Gemma-style tokenizer generated from a short word list, in the tokenizer.json
// layout SigLIP 2 ships (google/siglip2-*: GemmaTokenizer): SentencePiece BPE
// over the whole text with spaces replaced by "▁", no pre-tokenizer, byte
// fallback for any character the vocabulary lacks, and <eos> appended.
//
// Vocabulary order, as in Gemma: <pad>, <eos>, <bos>, <unk>, the 256 byte
// tokens <0x00>…<0xFF>, then characters and merged pieces. Every listed word is
// one token both at the start of a text ("red") and after a space ("▁red").
import { applyMerges } from './bpe-tokenizer.js';

const SPECIALS = ['<pad>', '<eos>', '<bos>', '<unk>'] as const;
const SPACE = '▁';
export const GEMMA_PAD_ID = 0;
const EOS_ID = 1;

export interface SentencePieceVocabulary {
  tokens: string[];
  merges: [string, string][];
}

const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** A word in both of its tokenised forms: text-initial and after a space. */
function forms(word: string): string[] {
  if (!/^\p{L}+$/u.test(word) || word !== word.toLowerCase()) throw new Error(`"${word}" is not one lowercase run of letters`);
  return [word, SPACE + word];
}

/** Same derivation as the CLIP-style builder: each form's merge chain continues from what earlier merges make of it. */
export function buildSentencePieceVocabulary(words: readonly string[]): SentencePieceVocabulary {
  const tokens: string[] = [...SPECIALS];
  for (let b = 0; b < 256; b++) tokens.push(byteToken(b));
  const known = new Set(tokens);
  const add = (token: string) => {
    if (!known.has(token)) {
      known.add(token);
      tokens.push(token);
    }
  };
  for (const char of [SPACE, ...words.flatMap((w) => [...w])]) add(char);
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  for (const form of words.flatMap(forms)) {
    const symbols = [...form];
    for (let parts = applyMerges(symbols, ranks); parts.length > 1; parts = applyMerges(symbols, ranks)) {
      const pair: [string, string] = [parts[0], parts[1]];
      ranks.set(pair.join(' '), merges.length);
      merges.push(pair);
      add(pair[0] + pair[1]);
    }
  }
  return { tokens, merges };
}

/** Ids of a listed word's two tokens. */
export function wordTokenIds(vocabulary: SentencePieceVocabulary, word: string): number[] {
  return forms(word).map((form) => {
    const id = vocabulary.tokens.indexOf(form);
    if (id < 0) throw new Error(`"${form}" is not a token of this vocabulary`);
    return id;
  });
}

function specialToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

export function sentencePieceTokenizerJson(vocabulary: SentencePieceVocabulary): object {
  const eos = { id: SPECIALS[EOS_ID], type_id: 0 };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => specialToken(id, content)),
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: eos }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: eos },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { ...eos, type_id: 1 } },
      ],
      special_tokens: { [SPECIALS[EOS_ID]]: { id: SPECIALS[EOS_ID], ids: [EOS_ID], tokens: [SPECIALS[EOS_ID]] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: SPECIALS[3],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocabulary.tokens.map((token, id) => [token, id])),
      merges: vocabulary.merges.map((pair) => pair.join(' ')),
    },
  };
}

/** tokenizer_config.json as SigLIP 2 has it: lowercase texts, pad to 64, <eos> and no <bos>. */
export function sentencePieceTokenizerConfigJson(maxLength: number): object {
  return {
    tokenizer_class: 'GemmaTokenizer',
    model_max_length: maxLength,
    do_lower_case: true,
    add_bos_token: false,
    add_eos_token: true,
    padding_side: 'right',
    model_input_names: ['input_ids'],
    pad_token: SPECIALS[0],
    eos_token: SPECIALS[1],
    bos_token: SPECIALS[2],
    unk_token: SPECIALS[3],
  };
}
