import type { LlamaModel, Token } from 'node-llama-cpp';

/**
 * Holds a generation to exactly `maxTokens` tokens, in its text and in its count, as
 * llama-server does. node-llama-cpp can overshoot by one: a token that ends in half a UTF-8
 * character is held back and not checked against the limit, so the next token is generated
 * and both are released together (seen as 17 tokens for `n_predict: 16` under some seeds).
 * Each release passes through `onToken` then `onTextChunk`; a release that crosses the limit
 * is cut to the tokens that fit, and the text that leaves is theirs.
 */
export class TokenLimit {
  readonly #model: LlamaModel;
  readonly #max: number;
  readonly #onText: ((text: string) => void) | undefined;
  readonly #onCount: (tokens: number) => void;
  readonly #kept: Token[] = [];
  readonly #texts: string[] = [];
  #cutText: string | undefined;
  #over = false;

  constructor(model: LlamaModel, maxTokens: number, onText: ((text: string) => void) | undefined, onCount: (tokens: number) => void) {
    this.#model = model;
    this.#max = maxTokens;
    this.#onText = onText;
    this.#onCount = onCount;
  }

  /** node-llama-cpp's `onToken`: the tokens of one release. */
  readonly onToken = (tokens: Token[]): void => {
    const room = Math.max(0, this.#max - this.#kept.length);
    const fits = tokens.length <= room ? tokens : tokens.slice(0, room);
    if (fits !== tokens) {
      this.#over = true;
      this.#cutText = this.#model.detokenize(fits, false, this.#kept);
    }
    this.#kept.push(...fits);
    this.#onCount(fits.length);
  };

  /** node-llama-cpp's `onTextChunk`: the text of the release just counted (cut when it crossed the limit). */
  readonly onTextChunk = (text: string): void => {
    const out = this.#cutText ?? text;
    this.#cutText = undefined;
    if (this.#over && out === '') return;
    this.#texts.push(out);
    this.#onText?.(out);
  };

  /** The reply's text: node-llama-cpp's own, unless the limit cut it (then what was released). */
  text(response: string): string {
    return this.#over ? this.#texts.join('') : response;
  }
}
