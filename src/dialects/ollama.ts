import {
  collectReply, throwIfUpstreamError, type BackendTimings, type ChatMessage, type DoneEvent, type EmbedRequest, type EmbedResult,
  type FinishReason, type GenerateEvent, type GenerateRequest, type ToolCall, type Usage,
} from './canonical.js';
import type { OllamaChatBody, OllamaEmbedBody, OllamaEmbeddingsBody, OllamaGenerateBody, OllamaMessage } from './ollama-schemas.js';
import { pickLoadOptions, pickSampling } from './schema-fields.js';

/**
 * Ollama's native dialect (`/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`)
 * to and from the canonical model: inbound bodies, bodies for an Ollama backend, its
 * NDJSON replies, and the renderer that answers Ollama clients of other backends.
 */

// ---- metrics

/**
 * Ollama reports durations in NANOSECONDS and leaves out every metric that is zero
 * (Go `omitempty`); the canonical model uses milliseconds.
 */
export interface OllamaMetrics {
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
}

function nsToMs(ns: number | undefined): number | undefined {
  return typeof ns === 'number' ? ns / 1e6 : undefined;
}

/** Canonical timings from an Ollama reply's metrics; absent metrics stay absent. */
export function timingsFromOllama(m: OllamaMetrics): BackendTimings {
  return {
    loadMs: nsToMs(m.load_duration),
    promptMs: nsToMs(m.prompt_eval_duration),
    genMs: nsToMs(m.eval_duration),
    totalMs: nsToMs(m.total_duration),
  };
}

/** Ollama metrics (nanoseconds, zero ones left out) from canonical timings and usage. */
export function ollamaMetrics(timings: BackendTimings, usage?: Usage): OllamaMetrics {
  const out: OllamaMetrics = {};
  const put = (key: keyof OllamaMetrics, value: number | undefined) => {
    if (value !== undefined && value > 0) out[key] = Math.round(value);
  };
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1e6);
  put('total_duration', ns(timings.totalMs));
  put('load_duration', ns(timings.loadMs));
  put('prompt_eval_count', usage?.promptTokens);
  put('prompt_eval_duration', ns(timings.promptMs));
  put('eval_count', usage?.completionTokens);
  put('eval_duration', ns(timings.genMs));
  return out;
}

// ---- inbound: client bodies (already validated by ollama-schemas) -> canonical

export function ollamaChatToCanonical(body: OllamaChatBody): GenerateRequest {
  return {
    kind: 'chat',
    model: body.model,
    messages: (body.messages ?? []).map(fromOllamaMessage),
    tools: body.tools ?? undefined,
    ...commonToCanonical(body),
  };
}

/** `raw` is false unless the client set it: Ollama wraps the prompt in the model's template. */
export function ollamaGenerateToCanonical(body: OllamaGenerateBody): GenerateRequest {
  return {
    kind: 'completion',
    model: body.model,
    prompt: body.prompt ?? '',
    raw: body.raw ?? false,
    system: body.system ?? undefined,
    suffix: body.suffix ?? undefined,
    ...commonToCanonical(body),
  };
}

/** Both `/api/embed` (`input`) and legacy `/api/embeddings` (`prompt`); an empty string means no input (a preload). */
export function ollamaEmbedToCanonical(body: OllamaEmbedBody | OllamaEmbeddingsBody): EmbedRequest {
  const embed = body as OllamaEmbedBody;
  const raw = embed.input ?? (body as OllamaEmbeddingsBody).prompt;
  const input = typeof raw === 'string' ? (raw === '' ? [] : [raw]) : (raw ?? []);
  return {
    model: body.model,
    input,
    truncate: embed.truncate ?? undefined,
    dimensions: embed.dimensions ?? undefined,
    keepAlive: body.keep_alive ?? undefined,
    loadOptions: pickLoadOptions(body.options),
  };
}

function commonToCanonical(body: OllamaChatBody | OllamaGenerateBody) {
  return {
    stream: body.stream ?? true,
    sampling: pickSampling(body.options ?? {}),
    format: body.format || undefined,
    keepAlive: body.keep_alive ?? undefined,
    loadOptions: pickLoadOptions(body.options),
  };
}

function fromOllamaMessage(m: OllamaMessage): ChatMessage {
  return {
    role: m.role,
    content: m.content ?? '',
    images: m.images ?? undefined,
    thinking: m.thinking ?? undefined,
    tool_calls: m.tool_calls?.map((tc) => ({ name: tc.function.name, arguments: tc.function.arguments })),
    tool_call_id: m.tool_call_id ?? undefined,
    name: m.tool_name ?? undefined,
  };
}

// ---- outbound: canonical -> an Ollama backend

/** What the gateway pins for the model: upstream name, load options, keep-alive. */
export interface OllamaPins {
  model: string;
  options: Record<string, unknown>;
  /** Undefined: none sent (a remote Warmgate applies its own policy). */
  keep_alive: number | string | undefined;
}

/**
 * The `/api/chat` (kind `chat`) or `/api/generate` (kind `completion`) body. Sampling goes
 * into `options` beside the pinned load options, so the daemon never sees a load option
 * the gateway did not pin.
 */
export function canonicalToOllamaBody(req: GenerateRequest, pins: OllamaPins): Record<string, unknown> {
  const common = {
    model: pins.model,
    stream: req.stream,
    format: req.format,
    options: { ...pins.options, ...req.sampling },
    keep_alive: pins.keep_alive,
    think: req.think,
  };
  if (req.kind === 'chat') return { ...common, messages: (req.messages ?? []).map(toOllamaMessage), tools: req.tools };
  return { ...common, prompt: req.prompt ?? '', system: req.system, suffix: req.suffix, raw: req.raw || undefined };
}

/** The `/api/embed` body. */
export function canonicalEmbedToOllamaBody(req: EmbedRequest, pins: OllamaPins): Record<string, unknown> {
  return {
    model: pins.model,
    input: req.input,
    truncate: req.truncate,
    dimensions: req.dimensions,
    options: pins.options,
    keep_alive: pins.keep_alive,
  };
}

function toOllamaMessage(m: ChatMessage): Record<string, unknown> {
  return {
    role: m.role,
    content: m.content,
    images: m.images,
    thinking: m.thinking,
    tool_calls: m.tool_calls?.map((tc) => ({ function: { name: tc.name, arguments: tc.arguments } })),
    tool_name: m.role === 'tool' ? m.name : undefined,
  };
}

// ---- Ollama replies -> canonical events

interface OllamaToolCall {
  id?: string;
  function: { name: string; arguments: Record<string, unknown> };
}

/** One object of an Ollama chat/generate reply (an NDJSON line, or the whole non-streamed reply). */
export interface OllamaReplyObject extends OllamaMetrics {
  message?: { content?: string; thinking?: string; tool_calls?: OllamaToolCall[] };
  response?: string;
  thinking?: string;
  done?: boolean;
  done_reason?: string;
}

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length', load: 'load', unload: 'unload' };

/**
 * The canonical events in one Ollama reply object: a delta when it carries text, thinking
 * or tool calls, then `done` when it is the last one. An `{"error"}` object (Ollama's
 * mid-stream failure) throws UPSTREAM_ERROR with the daemon's message.
 */
export function ollamaObjectToEvents(obj: unknown): GenerateEvent[] {
  throwIfUpstreamError(obj);
  const o = obj as OllamaReplyObject;
  const events: GenerateEvent[] = [];
  const content = o.message?.content ?? o.response ?? '';
  const thinking = o.message?.thinking ?? o.thinking;
  const toolCalls = o.message?.tool_calls?.map(fromOllamaToolCall);
  if (content || thinking || toolCalls?.length) {
    events.push({ type: 'delta', content, ...(thinking ? { thinking } : {}), ...(toolCalls?.length ? { toolCalls } : {}) });
  }
  if (o.done) {
    events.push({
      type: 'done',
      finishReason: FINISH[o.done_reason ?? 'stop'] ?? 'stop',
      usage: { promptTokens: o.prompt_eval_count ?? 0, completionTokens: o.eval_count ?? 0 },
      timings: timingsFromOllama(o),
    });
  }
  return events;
}

function fromOllamaToolCall(tc: OllamaToolCall): ToolCall {
  return { ...(tc.id ? { id: tc.id } : {}), name: tc.function.name, arguments: tc.function.arguments ?? {} };
}

// ---- canonical -> Ollama clients of other backends

export interface OllamaRendererOptions {
  kind: 'chat' | 'generate';
  /** The model name as the client sent it. */
  model: string;
  /** Clock for `created_at` (Ollama stamps every object). */
  now?: () => Date;
}

/**
 * Renders canonical events as exactly the objects an Ollama daemon sends: `message` (chat)
 * or `response` (generate), `done`, and on the last one `done_reason` and the metrics in
 * nanoseconds, zero ones left out.
 */
export class OllamaRenderer {
  readonly #kind: 'chat' | 'generate';
  readonly #model: string;
  readonly #now: () => Date;

  constructor(opts: OllamaRendererOptions) {
    this.#kind = opts.kind;
    this.#model = opts.model;
    this.#now = opts.now ?? (() => new Date());
  }

  /** One NDJSON object per event. */
  chunk(ev: GenerateEvent): Record<string, unknown> {
    return ev.type === 'delta' ? this.#object(ev.content, ev.thinking, ev.toolCalls) : this.#object('', undefined, undefined, ev);
  }

  /** The single object of a non-streamed reply: all text joined, metrics from `done`. */
  final(events: readonly GenerateEvent[]): Record<string, unknown> {
    const reply = collectReply(events);
    return this.#object(reply.content, reply.thinking, reply.toolCalls, reply.done);
  }

  #object(content: string, thinking: string | undefined, toolCalls: ToolCall[] | undefined, done?: DoneEvent): Record<string, unknown> {
    const calls = toolCalls?.length ? toolCalls.map((tc) => ({ function: { name: tc.name, arguments: tc.arguments } })) : undefined;
    const text = this.#kind === 'chat'
      ? { message: { role: 'assistant', content, ...(thinking ? { thinking } : {}), ...(calls ? { tool_calls: calls } : {}) } }
      : { response: content, ...(thinking ? { thinking } : {}) };
    const head = { model: this.#model, created_at: this.#now().toISOString(), ...text };
    if (!done) return { ...head, done: false };
    const reason = done.finishReason === 'tool_calls' ? 'stop' : done.finishReason;
    return { ...head, done: true, done_reason: reason, ...ollamaMetrics(done.timings, done.usage) };
  }
}

/**
 * `/api/embed` reply. `totalMs`, when given, replaces the backend's total (the gateway's
 * own elapsed time is what the client waited).
 */
export function ollamaEmbedReply(result: EmbedResult, model: string, totalMs?: number): Record<string, unknown> {
  const timings = { loadMs: result.timings.loadMs, totalMs: totalMs ?? result.timings.totalMs };
  return { model, embeddings: result.embeddings, ...ollamaMetrics(timings, { promptTokens: result.promptTokens, completionTokens: 0 }) };
}

/** Ollama's residency-only request: a chat without messages, or a generate without prompt or images. */
export function isEmptyOllamaRequest(kind: 'chat' | 'generate', body: Record<string, unknown>): boolean {
  if (kind === 'chat') return !Array.isArray(body.messages) || body.messages.length === 0;
  return (body.prompt === undefined || body.prompt === '') && !body.images;
}

/** A model's type from `/api/show` capabilities: embedding only when it cannot complete. */
export function ollamaModelType(capabilities: unknown): 'chat' | 'embedding' {
  return Array.isArray(capabilities) && capabilities.includes('embedding') && !capabilities.includes('completion') ? 'embedding' : 'chat';
}

/** A daemon's `/api/embed` reply as a canonical result. */
export function ollamaEmbedToResult(obj: unknown): EmbedResult {
  throwIfUpstreamError(obj);
  const reply = obj as OllamaMetrics & { embeddings?: number[][] };
  return {
    embeddings: reply.embeddings ?? [],
    promptTokens: reply.prompt_eval_count ?? 0,
    timings: { loadMs: nsToMs(reply.load_duration), totalMs: nsToMs(reply.total_duration) },
  };
}

/** Legacy `/api/embeddings` reply: the one vector, no metrics. */
export function ollamaEmbeddingsReply(result: EmbedResult): Record<string, unknown> {
  return { embedding: result.embeddings[0] ?? [] };
}
