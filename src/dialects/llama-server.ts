import { replyCutShort, WarmgateError } from '../errors.js';
import {
  throwIfUpstreamError, type BackendTimings, type ChatMessage, type EmbedRequest, type EmbedResult, type FinishReason, type GenerateEvent,
  type GenerateRequest, type ToolCall, type Usage,
} from './canonical.js';
import { base64Float32, fitDimensions } from './embedding-vectors.js';
import type { LlamaTimings } from './llama-timings.js';
import { openaiToolCall, parseToolArguments } from './openai.js';
import { openaiSamplingFields } from './schema-fields.js';

/**
 * Talking to a llama-server backend (llama.cpp's server, or the embedded worker that
 * serves the same API): canonical requests become its OpenAI-compatible bodies, and its
 * replies — which add a `timings` object — become canonical events and results.
 */

/**
 * Where a generation goes. A templated completion (Ollama /api/generate without `raw`)
 * becomes a chat turn, since llama-server's /v1/completions never applies the template.
 */
export function llamaServerPath(req: GenerateRequest): '/v1/chat/completions' | '/v1/completions' {
  return req.kind === 'completion' && req.raw ? '/v1/completions' : '/v1/chat/completions';
}

/**
 * The body for `llamaServerPath(req)`: OpenAI fields (`num_predict` as `max_tokens`), no
 * per-token timings, and for streams `include_usage` so the last chunk carries the counts.
 */
export function canonicalToLlamaServerBody(req: GenerateRequest): Record<string, unknown> {
  if (req.suffix) throw new WarmgateError('NOT_SUPPORTED', 'suffix (fill-in-the-middle) is not supported by llama-server backends');
  const common = {
    model: req.model,
    stream: req.stream,
    ...(req.stream ? { stream_options: { include_usage: true } } : {}),
    timings_per_token: false,
    ...openaiSamplingFields(req.sampling),
  };
  if (llamaServerPath(req) === '/v1/completions') {
    const jsonSchema = req.format === undefined ? {} : { json_schema: req.format === 'json' ? { type: 'object' } : req.format };
    return { ...common, prompt: req.prompt ?? '', ...jsonSchema };
  }
  const messages: ChatMessage[] = req.kind === 'chat'
    ? (req.messages ?? [])
    : [...(req.system ? [{ role: 'system', content: req.system }] : []), { role: 'user', content: req.prompt ?? '' }];
  const format = req.format === undefined ? {}
    : { response_format: req.format === 'json' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: 'response', schema: req.format } } };
  return { ...common, messages: messages.map(toOpenAIMessage), ...format, ...(req.tools ? { tools: req.tools } : {}) };
}

/** The `/v1/embeddings` body (floats: no base64 round trip between gateway and backend). */
export function canonicalEmbedToLlamaServerBody(req: EmbedRequest): Record<string, unknown> {
  return { model: req.model, input: req.input, encoding_format: 'float' };
}

function toOpenAIMessage(m: ChatMessage): Record<string, unknown> {
  const content = m.images?.length
    ? [{ type: 'text', text: m.content }, ...m.images.map((data) => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }))]
    : m.content;
  return {
    role: m.role,
    content,
    ...(m.tool_calls?.length ? { tool_calls: m.tool_calls.map(openaiToolCall) } : {}),
    ...(m.tool_call_id ? { tool_call_id: m.tool_call_id } : {}),
    ...(m.name ? { name: m.name } : {}),
  };
}

// ---- replies

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface MessageDelta {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: ToolCallDelta[];
}

/** The shapes the parser reads: OpenAI-compatible chunks/replies and native `/completion` ones. */
interface LlamaReplyObject {
  choices?: Array<{ delta?: MessageDelta; message?: MessageDelta; text?: string; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  timings?: Partial<LlamaTimings>;
  content?: string;
  stop?: boolean;
  stop_type?: string;
  stopping_word?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
}

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls' };

/**
 * Turns a llama-server reply into canonical events, one object at a time: the SSE chunks
 * of a stream or the single non-streamed reply, of `/v1/chat/completions`,
 * `/v1/completions` or native `/completion` (told apart by their shape). Stateful because
 * the finish reason, the usage and the timings arrive on different chunks, and streamed
 * tool calls arrive in fragments (they are emitted whole, just before `done`).
 * Call `end()` when the stream ends; it throws if the reply never finished.
 */
export class LlamaServerReplyParser {
  #finish: FinishReason | undefined;
  #usage: Usage | undefined;
  #timings: Partial<LlamaTimings> | undefined;
  #stopWord: string | undefined;
  #done = false;
  readonly #toolCalls = new Map<number, { id?: string; name: string; args: string }>();

  push(obj: unknown): GenerateEvent[] {
    throwIfUpstreamError(obj);
    const o = obj as LlamaReplyObject;
    if (o.timings) this.#timings = o.timings;
    if (o.usage) this.#usage = { promptTokens: o.usage.prompt_tokens ?? 0, completionTokens: o.usage.completion_tokens ?? 0 };
    return o.choices ? this.#openai(o) : this.#native(o);
  }

  end(): GenerateEvent[] {
    if (this.#done) return [];
    if (!this.#finish) throw replyCutShort();
    return [this.#doneEvent()];
  }

  #openai(o: LlamaReplyObject): GenerateEvent[] {
    const events: GenerateEvent[] = [];
    const choice = o.choices?.[0];
    if (choice) {
      const msg = choice.delta ?? choice.message ?? {};
      msg.tool_calls?.forEach((tc, i) => this.#addToolCall(tc, tc.index ?? i));
      pushDelta(events, choice.text ?? msg.content ?? '', msg.reasoning_content ?? msg.reasoning ?? undefined);
      if (choice.finish_reason) {
        this.#finish = FINISH[choice.finish_reason] ?? 'stop';
        if (this.#toolCalls.size > 0) events.push({ type: 'delta', content: '', toolCalls: this.#takeToolCalls() });
      }
    }
    if (this.#finish && this.#usage && !this.#done) events.push(this.#doneEvent());
    return events;
  }

  #native(o: LlamaReplyObject): GenerateEvent[] {
    const events: GenerateEvent[] = [];
    pushDelta(events, o.content ?? '', undefined);
    if (o.stop) {
      this.#finish = o.stop_type === 'limit' ? 'length' : 'stop';
      if (o.stop_type === 'word') this.#stopWord = o.stopping_word;
      this.#usage = { promptTokens: o.tokens_evaluated ?? 0, completionTokens: o.tokens_predicted ?? 0 };
      events.push(this.#doneEvent());
    }
    return events;
  }

  #doneEvent(): GenerateEvent {
    this.#done = true;
    const t = this.#timings ?? {};
    const usage = this.#usage ?? { promptTokens: (t.prompt_n ?? 0) + (t.cache_n ?? 0), completionTokens: t.predicted_n ?? 0 };
    const stopWord = this.#stopWord === undefined ? {} : { stopWord: this.#stopWord };
    return { type: 'done', finishReason: this.#finish ?? 'stop', usage, timings: timingsFromLlama(t), ...stopWord };
  }

  #addToolCall(tc: ToolCallDelta, index: number): void {
    const call = this.#toolCalls.get(index) ?? { name: '', args: '' };
    if (tc.id) call.id = tc.id;
    call.name += tc.function?.name ?? '';
    call.args += tc.function?.arguments ?? '';
    this.#toolCalls.set(index, call);
  }

  #takeToolCalls(): ToolCall[] {
    const calls = [...this.#toolCalls.values()].map((c) => ({ ...(c.id ? { id: c.id } : {}), name: c.name, arguments: parseToolArguments(c.args, 'UPSTREAM_ERROR') }));
    this.#toolCalls.clear();
    return calls;
  }
}

function pushDelta(events: GenerateEvent[], content: string, thinking: string | undefined): void {
  if (content || thinking) events.push({ type: 'delta', content, ...(thinking ? { thinking } : {}) });
}

function timingsFromLlama(t: Partial<LlamaTimings>): BackendTimings {
  const total = t.prompt_ms !== undefined || t.predicted_ms !== undefined ? (t.prompt_ms ?? 0) + (t.predicted_ms ?? 0) : undefined;
  return { promptMs: t.prompt_ms, genMs: t.predicted_ms, totalMs: total };
}

/**
 * A `/v1/embeddings` reply (float or base64 vectors, in `index` order) as a canonical
 * result. llama-server ignores `dimensions`, so the request's is applied here.
 */
export function llamaServerEmbeddingsToResult(obj: unknown, req?: Pick<EmbedRequest, 'dimensions'>): EmbedResult {
  throwIfUpstreamError(obj);
  const reply = obj as { data?: Array<{ index?: number; embedding: number[] | string }>; usage?: { prompt_tokens?: number } };
  const data = [...(reply.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  return {
    embeddings: data.map((d) => fitDimensions(typeof d.embedding === 'string' ? base64Float32(d.embedding) : d.embedding, req?.dimensions)),
    promptTokens: reply.usage?.prompt_tokens ?? 0,
    timings: {},
  };
}
