import { WarmgateError } from '../errors.js';
import type { UpstreamPool } from '../upstream/upstream-pool.js';

/**
 * Ollama's embedding `truncate` on servers that have none (llama-server, the worker): an
 * input longer than the model's context is cut to fit (`truncate` true, the default), or is
 * a 400 (`false`). Such a server refuses an over-long input with its size in the message;
 * only then are the inputs tokenized, cut, and sent again, so a normal call costs nothing.
 */

/**
 * The longest input the server's refusal allows, from its message: llama-server's "input
 * (N tokens) is too large to process. increase the physical batch size (current batch
 * size: M)" or "… is larger than the max context size (M tokens)", the worker's "input i (N
 * tokens) is too large to process; the context holds M". Undefined for any other error.
 */
export function refusedLength(err: unknown): number | undefined {
  const m = /\(\d+ tokens\) is (?:too large to process|larger than the max context size)\D+(\d+)/.exec((err as Error)?.message ?? '');
  return m ? Number(m[1]) - 1 : undefined;
}

/** Tokens kept free under the limit for the special tokens the server adds and a cut that re-tokenizes longer. */
const MARGIN = 4;

/** Each input cut to at most `limit` tokens (those within it unchanged), through the server's own tokenizer. */
export async function cutToLength(pool: UpstreamPool, inputs: readonly string[], limit: number, signal: AbortSignal): Promise<string[]> {
  const keep = Math.max(1, limit - MARGIN);
  return Promise.all(inputs.map(async (content) => {
    const { tokens } = await pool.json<{ tokens: Array<number | { id: number }> }>({ method: 'POST', path: '/tokenize', body: { content }, signal });
    if (tokens.length <= keep) return content;
    const ids = tokens.slice(0, keep).map((t) => (typeof t === 'number' ? t : t.id));
    return (await pool.json<{ content: string }>({ method: 'POST', path: '/detokenize', body: { tokens: ids }, signal })).content;
  }));
}

/** Ollama's refusal of an over-long input with `truncate: false`. */
export function inputTooLong(limit: number): WarmgateError {
  return new WarmgateError('CONTEXT_LENGTH', `input length exceeds maximum context length (${limit} tokens)`);
}
