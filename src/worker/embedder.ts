/**
 * Pooled embeddings on the model's embedding context. Vectors are L2-normalised like
 * llama-server's default (`embd_normalize: 2`). The context evaluates one input at a time
 * (node-llama-cpp locks it), so concurrent requests are served in turn; an aborted request
 * stops between inputs.
 */
import type { LlamaEmbeddingContext, Token } from 'node-llama-cpp';
import type { EmbedResult } from '../dialects/canonical.js';
import { normalize } from '../dialects/embedding-vectors.js';
import { WarmgateError } from '../errors.js';

/** Text, or token ids. */
export type EmbeddingInput = string | readonly number[];

export class Embedder {
  readonly #context: LlamaEmbeddingContext;
  readonly #contextSize: number;

  constructor(context: LlamaEmbeddingContext, contextSize: number) {
    this.#context = context;
    this.#contextSize = contextSize;
  }

  /** The vectors in input order; `promptTokens` counts every input's tokens, special tokens included. */
  async embed(inputs: readonly EmbeddingInput[], signal: AbortSignal): Promise<EmbedResult> {
    const lengths = inputs.map((input, i) => this.#checkedLength(input, i));
    const embeddings: number[][] = [];
    for (const input of inputs) {
      signal.throwIfAborted();
      const embedding = await this.#context.getEmbeddingFor(asInput(input));
      embeddings.push(normalize(embedding.vector));
    }
    return { embeddings, promptTokens: lengths.reduce((a, b) => a + b, 0), timings: {} };
  }

  #checkedLength(input: EmbeddingInput, index: number): number {
    if (input.length === 0) throw new WarmgateError('BAD_REQUEST', `input ${index} is empty`);
    const length = this.#context.calculateInputLength(asInput(input));
    if (length >= this.#contextSize) {
      throw new WarmgateError('BAD_REQUEST', `input ${index} (${length} tokens) is too large to process; the context holds ${this.#contextSize}`);
    }
    return length;
  }
}

/** node-llama-cpp brands token ids. */
function asInput(input: EmbeddingInput): string | Token[] {
  return typeof input === 'string' ? input : ([...input] as Token[]);
}
