import { WarmgateError } from '../errors.js';

/**
 * The context rule of a pin: `num_ctx` only grows. The pinned context is the largest a
 * request asked for, or the one a prompt needs, within the cap; a prompt that cannot fit
 * under the cap is refused instead of being cut by the runtime without a word.
 */

/** What a request wants from the context: the `num_ctx` it sent, and its prompt's size in tokens (estimated). */
export interface ContextWant {
  asked?: number;
  promptTokens?: number;
}

/** What bounds the context: a fixed pin (config `pin.num_ctx`), a cap (`max_ctx`), the model's own `context_length`. */
export interface ContextCaps {
  fixed?: number;
  max?: number;
  modelMax?: number;
}

/**
 * The runtime's context when nothing is pinned. Ollama's default depends on its version
 * (2048, later 4096, then chosen from VRAM) and the gateway cannot ask for it, so the
 * smallest is assumed: a prompt longer than it pins a context that holds it.
 */
export const ASSUMED_DEFAULT_CTX = 2048;

/** Room left for the reply when a prompt sets the context. */
export const REPLY_ROOM = 512;

/** UTF-8 bytes per token for the estimate: typical of BPE vocabularies on prose and code. */
const BYTES_PER_TOKEN = 4;

/**
 * The context to pin after this request: `current` (undefined = none pinned yet) unless the
 * request asked for more or its prompt needs more. Throws WG_CONTEXT_LENGTH when the prompt
 * is longer than the largest context allowed.
 */
export function nextContext(current: number | undefined, want: ContextWant, caps: ContextCaps): number | undefined {
  const cap = Math.min(caps.fixed ?? caps.max ?? Infinity, caps.modelMax ?? Infinity);
  const prompt = want.promptTokens ?? 0;
  if (prompt > cap) throw contextTooLong(prompt, cap);
  if (caps.fixed !== undefined) return Math.min(caps.fixed, cap);
  let next = current;
  if (want.asked !== undefined && want.asked > (current ?? 0)) next = Math.min(want.asked, cap);
  if (prompt > (next ?? ASSUMED_DEFAULT_CTX)) next = Math.min(cap, nextPowerOfTwo(prompt + REPLY_ROOM));
  return next;
}

/** A prompt's size in tokens, estimated from its UTF-8 bytes (the gateway has no tokenizer for a daemon's model). */
export function estimateTokens(texts: Iterable<string>): number {
  let bytes = 0;
  for (const text of texts) bytes += Buffer.byteLength(text);
  return Math.ceil(bytes / BYTES_PER_TOKEN);
}

/** The prompt texts of an Ollama body or a canonical request: `system`, `prompt`, `suffix`, each message's `content`. */
export function* promptTexts(body: { system?: unknown; prompt?: unknown; suffix?: unknown; messages?: unknown }): Iterable<string> {
  for (const field of [body.system, body.prompt, body.suffix]) if (typeof field === 'string') yield field;
  if (!Array.isArray(body.messages)) return;
  for (const m of body.messages) if (typeof (m as { content?: unknown })?.content === 'string') yield (m as { content: string }).content;
}

/** Ollama's wording for input over the context, with the figures that decided it. */
export function contextTooLong(promptTokens: number, ctx: number): WarmgateError {
  return new WarmgateError('CONTEXT_LENGTH', `input length exceeds maximum context length: about ${promptTokens} tokens, the model's context is at most ${ctx} (raise models.<name>.max_ctx or pin.num_ctx, or send less)`);
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
