import { randomUUID } from 'node:crypto';
import { WarmgateError, type ErrorCode } from '../errors.js';
import {
  collectReply, type ChatMessage, type DoneEvent, type EmbedRequest, type EmbedResult, type FinishReason, type GenerateEvent,
  type GenerateRequest, type ToolCall, type Usage,
} from './canonical.js';
import { float32Base64 } from './embedding-vectors.js';
import { doneTimings } from './llama-timings.js';
import type { OpenAIChatBody, OpenAICompletionBody, OpenAIEmbeddingsBody, OpenAIMessage } from './openai-schemas.js';
import { pickSampling, theText } from './schema-fields.js';

/**
 * The OpenAI dialect (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`) to and
 * from the canonical model: inbound bodies, and the replies rendered for OpenAI clients.
 */

type Kind = 'chat' | 'completion';
type DeltaEvent = Extract<GenerateEvent, { type: 'delta' }>;

// ---- inbound: client bodies (already validated by openai-schemas) -> canonical

export function openaiChatToCanonical(body: OpenAIChatBody): GenerateRequest {
  const rf = body.response_format;
  return {
    kind: 'chat',
    model: body.model,
    messages: body.messages.map(openaiMessageToCanonical),
    stream: body.stream ?? false,
    sampling: pickSampling({ ...body, num_predict: body.max_completion_tokens ?? body.max_tokens }),
    format: rf?.type === 'json_object' ? 'json' : rf?.type === 'json_schema' ? (rf.json_schema?.schema ?? 'json') : undefined,
    tools: body.tools ?? undefined,
    think: thinkOf(body.reasoning_effort),
  };
}

/** Ollama's OpenAI layer: an effort is passed as `think`, `none` turns thinking off; `minimal` is its lowest, `low`. */
function thinkOf(effort: OpenAIChatBody['reasoning_effort']): GenerateRequest['think'] {
  if (effort === undefined || effort === null) return undefined;
  if (effort === 'none') return false;
  return effort === 'minimal' ? 'low' : effort;
}

/** OpenAI completions are raw text completion: no chat template. */
export function openaiCompletionToCanonical(body: OpenAICompletionBody): GenerateRequest {
  return {
    kind: 'completion',
    model: body.model,
    prompt: theText(body.prompt),
    raw: true,
    suffix: body.suffix ?? undefined,
    stream: body.stream ?? false,
    sampling: pickSampling({ ...body, num_predict: body.max_tokens }),
  };
}

export function openaiEmbeddingsToCanonical(body: OpenAIEmbeddingsBody): EmbedRequest {
  return {
    model: body.model,
    input: typeof body.input === 'string' ? [body.input] : body.input,
    dimensions: body.dimensions ?? undefined,
  };
}

/** Text parts are joined with newlines; `image_url` parts must be base64 `data:` URLs (nothing is fetched). */
export function openaiMessageToCanonical(m: OpenAIMessage): ChatMessage {
  const parts = Array.isArray(m.content) ? m.content : undefined;
  const images = parts?.flatMap((p) => (p.type === 'image_url' && p.image_url !== undefined ? [imageData(p.image_url)] : []));
  return {
    role: m.role,
    content: parts ? parts.flatMap((p) => (p.type === 'text' ? [p.text ?? ''] : [])).join('\n') : ((m.content as string | null | undefined) ?? ''),
    images: images?.length ? images : undefined,
    tool_calls: m.tool_calls?.map((tc) => ({ id: tc.id, name: tc.function.name, arguments: parseToolArguments(tc.function.arguments, 'BAD_REQUEST') })),
    tool_call_id: m.tool_call_id ?? undefined,
    name: m.name ?? undefined,
  };
}

function imageData(image: string | { url: string }): string {
  const url = typeof image === 'string' ? image : image.url;
  const match = /^data:[^,]*;base64,(.*)$/s.exec(url);
  if (!match) throw new WarmgateError('BAD_REQUEST', 'image_url must be a base64 data: URL; remote image URLs are not fetched');
  return match[1];
}

// ---- canonical -> OpenAI clients

export interface OpenAIReplyMeta {
  /** The model name as the client sent it. */
  model: string;
  /** Defaults to a fresh `chatcmpl-…` / `cmpl-…` id. */
  id?: string;
  /** Unix seconds; defaults to now. */
  created?: number;
  /**
   * Answer as llama-server does on these paths (the worker answers as it): the objects that
   * close a reply (the whole reply, the chunk with `finish_reason`, the usage chunk) carry
   * its `timings`; a chat stream opens with a chunk of its own, `{role: "assistant",
   * content: ""}`, and no chunk carries OpenAI's `usage: null`.
   */
  llamaServer?: boolean;
}

export interface OpenAIStreamOptions extends OpenAIReplyMeta {
  kind: Kind;
  /** The client's `stream_options.include_usage`. */
  includeUsage?: boolean;
}

/**
 * Streamed replies as OpenAI sends them: `chat.completion.chunk` (the first carries
 * `role: "assistant"`) or `text_completion` objects sharing one id and `created`; `done`
 * becomes the chunk with `finish_reason`, then — only with `includeUsage` — a chunk with
 * empty `choices` and the usage (every other chunk then has `usage: null`, as OpenAI's).
 * The route writes `data: [DONE]` after the last event. `llamaServer` changes the framing
 * (see `OpenAIReplyMeta`).
 */
export class OpenAIStreamRenderer {
  readonly #kind: Kind;
  readonly #head: Record<string, unknown>;
  readonly #includeUsage: boolean;
  readonly #llamaServer: boolean;
  #started = false;
  #toolCalls = 0;

  constructor(opts: OpenAIStreamOptions) {
    this.#kind = opts.kind;
    this.#includeUsage = opts.includeUsage ?? false;
    this.#llamaServer = opts.llamaServer ?? false;
    this.#head = head(opts.kind, opts, opts.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion');
  }

  chunks(ev: GenerateEvent): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    // A chat stream names the role even when nothing was generated; llama-server in a chunk of its own.
    if (this.#kind === 'chat' && !this.#started && (ev.type === 'done' || this.#llamaServer)) out.push(this.#deltaChunk({ type: 'delta', content: '' }));
    if (ev.type === 'delta') {
      out.push(this.#deltaChunk(ev));
      return out;
    }
    const closing = closingFields(this.#llamaServer, ev);
    out.push({ ...this.#chunk(this.#kind === 'chat' ? {} : { text: '' }, finishReason(ev.finishReason, this.#toolCalls > 0)), ...closing });
    if (this.#includeUsage) out.push({ ...this.#head, choices: [], usage: usageObject(ev.usage), ...closing });
    return out;
  }

  #deltaChunk(ev: DeltaEvent): Record<string, unknown> {
    if (this.#kind === 'completion') return this.#chunk({ text: ev.content });
    const delta: Record<string, unknown> = this.#started ? {} : { role: 'assistant' };
    this.#started = true;
    delta.content = ev.content;
    if (ev.thinking) delta.reasoning_content = ev.thinking;
    if (ev.toolCalls?.length) delta.tool_calls = ev.toolCalls.map((tc) => ({ index: this.#toolCalls++, ...openaiToolCall(tc) }));
    return this.#chunk(delta);
  }

  #chunk(fields: Record<string, unknown>, finish: string | null = null): Record<string, unknown> {
    const choice = this.#kind === 'chat'
      ? { index: 0, delta: fields, finish_reason: finish }
      : { ...fields, index: 0, logprobs: null, finish_reason: finish };
    return { ...this.#head, choices: [choice], ...(this.#includeUsage && !this.#llamaServer ? { usage: null } : {}) };
  }
}

/** A non-streamed `chat.completion` or `text_completion` reply; throws UPSTREAM_ERROR when `events` lack `done`. */
export function openaiFinal(kind: Kind, events: readonly GenerateEvent[], meta: OpenAIReplyMeta): Record<string, unknown> {
  const reply = collectReply(events);
  const finish = finishReason(reply.done.finishReason, reply.toolCalls.length > 0);
  const choice = kind === 'chat'
    ? {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content,
          ...(reply.thinking ? { reasoning_content: reply.thinking } : {}),
          ...(reply.toolCalls.length ? { tool_calls: reply.toolCalls.map(openaiToolCall) } : {}),
        },
        finish_reason: finish,
      }
    : { text: reply.content, index: 0, logprobs: null, finish_reason: finish };
  return {
    ...head(kind, meta, kind === 'chat' ? 'chat.completion' : 'text_completion'),
    choices: [choice],
    usage: usageObject(reply.done.usage),
    ...closingFields(meta.llamaServer ?? false, reply.done),
  };
}

/** `/v1/embeddings` reply; `base64` is each vector's little-endian float32 bytes. */
export function openaiEmbeddingsReply(result: EmbedResult, opts: { model: string; encoding: 'float' | 'base64' }): Record<string, unknown> {
  return {
    object: 'list',
    data: result.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: opts.encoding === 'base64' ? float32Base64(vector) : vector,
    })),
    model: opts.model,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}

function head(kind: Kind, meta: OpenAIReplyMeta, object: string): Record<string, unknown> {
  const id = meta.id ?? `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  return { id, object, created: meta.created ?? Math.floor(Date.now() / 1000), model: meta.model };
}

/** What llama-server adds to the objects that close a reply: its `timings`. */
function closingFields(llamaServer: boolean, done: DoneEvent): Record<string, unknown> {
  return llamaServer ? { timings: doneTimings(done) } : {};
}

/** OpenAI has no load/unload; a reply that called tools finishes with `tool_calls`. */
function finishReason(reason: FinishReason, calledTools: boolean): string {
  if (calledTools || reason === 'tool_calls') return 'tool_calls';
  return reason === 'length' ? 'length' : 'stop';
}

function usageObject(usage: Usage): Record<string, number> {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
}

// ---- tool calls: canonical (`arguments` an object, as Ollama sends them) <-> OpenAI (a JSON string, an `id` per call)

/** A canonical tool call in OpenAI's shape; a call without id gets a fresh one. */
export function openaiToolCall(tc: ToolCall): Record<string, unknown> {
  return {
    id: tc.id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'function',
    function: { name: tc.name, arguments: JSON.stringify(tc.arguments) },
  };
}

/**
 * OpenAI's `arguments` string as an object; empty means no arguments. Anything but a JSON
 * object throws `code` (BAD_REQUEST for a client's history, UPSTREAM_ERROR for a backend's reply).
 */
export function parseToolArguments(text: string, code: ErrorCode): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new WarmgateError(code, `tool call arguments must be a JSON object, got ${JSON.stringify(text.slice(0, 100))}`);
}
