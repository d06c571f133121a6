/**
 * The canonical request/stream model every dialect translates to and from when the
 * inbound dialect differs from the backend's. Sampling options use Ollama's names
 * (the richest set); load-time options are kept apart because the gateway pins them.
 */

export interface ChatMessage {
  role: string;
  content: string;
  images?: string[];
  thinking?: string;
  tool_calls?: unknown[];
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
  /** `chat` carries messages; `completion` carries a raw prompt. */
  kind: 'chat' | 'completion';
  /** The gateway's model name (already resolved from aliases). */
  model: string;
  messages?: ChatMessage[];
  prompt?: string;
  system?: string;
  suffix?: string;
  stream: boolean;
  sampling: SamplingOptions;
  /** JSON mode (`"json"`) or a JSON schema. */
  format?: unknown;
  tools?: unknown[];
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
  | { type: 'delta'; content: string; thinking?: string; toolCalls?: unknown[] }
  | { type: 'done'; finishReason: FinishReason; usage: Usage; timings: BackendTimings };

export interface EmbedRequest {
  model: string;
  input: string[];
  /** Ollama's truncate (default true): cut inputs longer than the context instead of failing. */
  truncate?: boolean;
  dimensions?: number;
}

export interface EmbedResult {
  embeddings: number[][];
  promptTokens: number;
  timings: BackendTimings;
}
