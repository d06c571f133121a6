import { replyCutShort, WarmgateError } from '../errors.js';

/**
 * dialects/ is the one home of every wire format (Ollama, OpenAI, llama-server's native
 * API, NDJSON, SSE, error bodies), both directions; the routes, the backends and the
 * worker all use it. It imports only `errors.ts` and config/.
 *
 * The canonical request/stream model every dialect translates to and from when the
 * inbound dialect differs from the backend's. Sampling options use Ollama's names
 * (the richest set); load-time options are kept apart because the gateway pins them.
 */

/**
 * A complete function call the model asked for. `arguments` is the parsed object (Ollama's
 * shape); OpenAI renderers stringify it. `id` is the OpenAI call id when one is known.
 */
export interface ToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface ChatMessage {
  role: string;
  content: string;
  /** Base64 image data without a `data:` prefix. */
  images?: string[];
  thinking?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
}

/** Options that never force a reload. Ollama names; OpenAI fields map onto them. */
export interface SamplingOptions {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  seed?: number;
  /** Max tokens to generate (OpenAI `max_tokens` / `max_completion_tokens`, llama-server `n_predict`). */
  num_predict?: number;
  stop?: string[];
  repeat_penalty?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
}

export interface GenerateRequest {
  /** `chat` carries messages; `completion` carries a prompt (see `raw`). */
  kind: 'chat' | 'completion';
  /** The gateway's model name (already resolved from aliases). */
  model: string;
  messages?: ChatMessage[];
  prompt?: string;
  /**
   * `completion` only: true sends the prompt as-is (OpenAI /v1/completions, llama-server
   * /completion, Ollama `raw`); false wraps it in the model's chat template as a user turn,
   * as Ollama's /api/generate does by default.
   */
  raw?: boolean;
  system?: string;
  suffix?: string;
  stream: boolean;
  sampling: SamplingOptions;
  /** JSON mode (`"json"`) or a JSON schema. */
  format?: unknown;
  tools?: unknown[];
  /** Ollama's `think`: on/off, or an effort (OpenAI's `reasoning_effort`). */
  think?: boolean | 'low' | 'medium' | 'high';
  /** What the client sent as Ollama `keep_alive` (absent for other dialects); the gateway applies its own policy. */
  keepAlive?: number | string;
  /** Load-time options the client sent (Ollama `options.num_ctx` ...); the gateway pins its own. */
  loadOptions?: Record<string, unknown>;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'load' | 'unload';

/** Durations in milliseconds as the backend reported them (absent when unknown). */
export interface BackendTimings {
  loadMs?: number;
  promptMs?: number;
  genMs?: number;
  totalMs?: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type GenerateEvent =
  | { type: 'delta'; content: string; thinking?: string; toolCalls?: ToolCall[] }
  | {
      type: 'done';
      finishReason: FinishReason;
      usage: Usage;
      timings: BackendTimings;
      /** The stop string that ended the generation (`finishReason` 'stop'), where the backend says (llama-server's `stopping_word`). */
      stopWord?: string;
    };

export interface EmbedRequest {
  model: string;
  input: string[];
  /** Ollama's truncate (default true): cut inputs longer than the context instead of failing. */
  truncate?: boolean;
  dimensions?: number;
  keepAlive?: number | string;
  loadOptions?: Record<string, unknown>;
}

export interface EmbedResult {
  embeddings: number[][];
  promptTokens: number;
  timings: BackendTimings;
}

// ---- operations every dialect shares: folding a reply, reading upstream error objects

export type DoneEvent = Extract<GenerateEvent, { type: 'done' }>;

/** A whole reply folded from its events, for dialects' non-streamed replies. */
export interface CollectedReply {
  content: string;
  thinking?: string;
  toolCalls: ToolCall[];
  done: DoneEvent;
}

/** Folds events into one reply; throws UPSTREAM_ERROR when they lack the final `done`. */
export function collectReply(events: readonly GenerateEvent[]): CollectedReply {
  let content = '';
  let thinking: string | undefined;
  const toolCalls: ToolCall[] = [];
  let done: DoneEvent | undefined;
  for (const ev of events) {
    if (ev.type === 'done') {
      done = ev;
      continue;
    }
    content += ev.content;
    if (ev.thinking) thinking = (thinking ?? '') + ev.thinking;
    if (ev.toolCalls) toolCalls.push(...ev.toolCalls);
  }
  if (!done) throw replyCutShort();
  return { content, thinking, toolCalls, done };
}

/**
 * The message of an error object an upstream sent in place of a reply or mid-stream:
 * Ollama's `{"error": "..."}`, or OpenAI's / llama-server's `{"error": {"message": ...}}`.
 * Undefined when `obj` is not an error object.
 */
function upstreamErrorMessage(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null || !('error' in obj)) return undefined;
  const error = (obj as { error: unknown }).error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return JSON.stringify(error);
}

/** Throws UPSTREAM_ERROR carrying the upstream's own message when `obj` is an error object. */
export function throwIfUpstreamError(obj: unknown): void {
  const message = upstreamErrorMessage(obj);
  if (message !== undefined) throw new WarmgateError('UPSTREAM_ERROR', message);
}
