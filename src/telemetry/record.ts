/**
 * One timing record per request: where its time went. Filled in as the request moves
 * through the gateway and finished exactly once, then written to the log, the metrics
 * and the ring of recent records.
 */
export type Dialect = 'ollama' | 'openai' | 'llama-server' | 'admin';

export interface RequestRecord {
  id: string;
  dialect: Dialect;
  route: string;
  model?: string;
  backend?: string;
  status: number;
  /** Epoch ms when the request arrived. */
  start: number;
  queue_ms: number;
  load_ms: number;
  prompt_ms?: number;
  gen_ms?: number;
  ttft_ms?: number;
  total_ms: number;
  prompt_tokens?: number;
  gen_tokens?: number;
  tokens_per_s?: number;
  stream: boolean;
  /** Load-time options replaced by pinned values: `{ num_ctx: { sent: 16384, pinned: 8192 } }`. */
  overrides?: Record<string, { sent: unknown; pinned: unknown }>;
  /** The context the client asked for (`options.num_ctx`) and the one pinned for it (null: none / the runtime's default). */
  num_ctx?: { asked: number | null; pinned: number | null };
  /** Inputs merged with other requests into one upstream embedding call. */
  batched_with?: number;
  coalesced?: boolean;
  cache_hit?: boolean;
  error?: string;
  error_code?: string;
}

export type RecordFields = Omit<RequestRecord, 'id' | 'start' | 'status' | 'queue_ms' | 'load_ms' | 'total_ms' | 'stream'>;
