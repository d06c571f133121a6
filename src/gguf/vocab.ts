/**
 * A SentencePiece-style ("llama") vocabulary with byte fallback, of any size ≥ MIN_VOCAB.
 *
 * Layout: <unk> <s> </s>, the 256 <0xNN> byte tokens, the ChatML markers, "▁" and the
 * printable ASCII characters, then every prefix of common English words (with and
 * without the "▁" word-start marker), then letter n-grams until the size is reached.
 * llama.cpp's SPM tokenizer merges adjacent pieces only when the merged string is a token,
 * so every word piece comes with all its prefixes: "▁the" is reachable as ▁ → ▁t → ▁th → ▁the.
 * Scores grow with piece length, so longer merges win. Anything else falls back to bytes.
 */
/** Token ids of the fixed head of every vocabulary. */
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;

/** The fixed tokens: unk, bos, eos, 256 bytes, 2 ChatML markers, ▁ and 94 printable ASCII characters. */
export const MIN_VOCAB = 3 + 256 + 2 + 1 + 94;

/** llama.cpp token types. */
export const TokenType = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
const WORD_START = '\u2581';

export interface Vocabulary {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  /** Id of <|im_end|>, the end-of-turn token of the ChatML template. */
  eotId: number;
}

const WORDS = (
  'the of and to in is it you that he was for on are with as his they be at one have this from or had by ' +
  'not word but what some we can out other were all there when up use your how said an each she which do ' +
  'their time if will way about many then them write would like so these her long make thing see him two ' +
  'has look more day could go come did number sound no most people my over know water than call first who ' +
  'may down side been now find any new work part take get place made live where after back little only ' +
  'round man year came show every good me give our under name very through just form sentence great think ' +
  'say help low line differ turn cause much mean before move right boy old too same tell does set three ' +
  'want air well also play small end put home read hand port large spell add even land here must big high ' +
  'such follow act why ask men change went light kind off need house picture try us again animal point ' +
  'mother world near build self earth father hello model answer question chat user assistant system'
).split(' ');

/** Builds exactly `size` tokens; deterministic (no seed: the vocabulary is the same for every file). */
export function buildVocabulary(size: number): Vocabulary {
  if (size < MIN_VOCAB) throw new RangeError(`vocabulary size ${size} is below the minimum ${MIN_VOCAB}`);
  const tokens: string[] = [];
  const types: number[] = [];
  const seen = new Set<string>();
  const add = (piece: string, type: number): void => {
    if (tokens.length >= size || seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(type);
  };

  add('<unk>', TokenType.unknown);
  add('<s>', TokenType.control);
  add('</s>', TokenType.control);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TokenType.byte);
  add(IM_START, TokenType.control);
  add(IM_END, TokenType.control);
  add(WORD_START, TokenType.normal);
  for (let c = 0x21; c <= 0x7e; c++) add(String.fromCharCode(c), TokenType.normal);

  for (const word of WORDS) {
    for (const piece of [WORD_START + word, word, WORD_START + capitalize(word)]) {
      for (let len = 2; len <= piece.length; len++) add(piece.slice(0, len), TokenType.normal);
    }
  }
  for (const gram of letterGrams()) {
    if (tokens.length >= size) break;
    add(gram, TokenType.normal);
    add(WORD_START + gram, TokenType.normal);
  }

  const scores = Float32Array.from(tokens, (piece, id) =>
    // Special and byte tokens score 0 like SentencePiece's; pieces prefer length, then earlier ids.
    types[id] === TokenType.normal ? [...piece].length - id / (size + 1) : 0,
  );
  return { tokens, scores, types: Int32Array.from(types), eotId: tokens.indexOf(IM_END) };
}

/** Lower-case letter strings of length 2, 3, ... in order; more than any vocabulary needs. */
function* letterGrams(): Generator<string> {
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  for (let len = 2; ; len++) {
    const digits = new Array<number>(len).fill(0);
    for (;;) {
      yield digits.map((d) => letters[d]).join('');
      let i = len - 1;
      while (i >= 0 && ++digits[i] === letters.length) digits[i--] = 0;
      if (i < 0) break;
    }
  }
}

function capitalize(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}
