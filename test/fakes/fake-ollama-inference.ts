import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { keepAliveSeconds } from '../../src/config/units.js';
import type { GenerateEvent, GenerateRequest } from '../../src/dialects/canonical.js';
import { fitDimensions, normalize } from '../../src/dialects/embedding-vectors.js';
import { ndjsonLine } from '../../src/dialects/ndjson.js';
import { ollamaChatToCanonical, ollamaEmbedToCanonical, ollamaGenerateToCanonical } from '../../src/dialects/ollama.js';
import { ollamaChatSchema, ollamaEmbeddingsSchema, ollamaEmbedSchema, ollamaGenerateSchema } from '../../src/dialects/ollama-schemas.js';
import {
  OpenAIStreamRenderer, openaiChatToCanonical, openaiCompletionToCanonical, openaiEmbeddingsReply, openaiEmbeddingsToCanonical, openaiFinal,
} from '../../src/dialects/openai.js';
import { openaiChatSchema, openaiCompletionSchema, openaiEmbeddingsSchema } from '../../src/dialects/openai-schemas.js';
import { sseEvent } from '../../src/dialects/sse.js';
import type { CatalogEntry, FakeCatalog } from './fake-catalog.js';
import { sendJson } from './fake-http.js';
import type { FakeResidency } from './fake-residency.js';
import { echoReply, generationMetrics, pace, promptTokens, scriptReply, scriptedVector } from './fake-scripts.js';

/**
 * The fake daemon's inference endpoints: native `/api/chat|generate|embed|embeddings` and
 * the OpenAI layer `/v1/chat/completions|completions|embeddings`. Bodies are read with the
 * gateway's own schemas (a body the daemon would refuse is refused here too).
 */

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  body: unknown;
}

/** What the inference endpoints need from the fake daemon. */
export interface InferenceHost {
  catalog: FakeCatalog;
  residency: FakeResidency;
  now(): number;
  /** Writes a streamed reply line by line (each `lineMs` after the last), applying the fake's scripting knobs. */
  stream(res: ServerResponse, contentType: string, lines: string[], errorLine: (message: string) => string, lineMs: number | undefined): Promise<void>;
}

type Dialect = 'ollama' | 'openai';

export function errorBody(dialect: Dialect, status: number, message: string): Record<string, unknown> {
  if (dialect === 'ollama') return { error: message };
  const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
  return { error: { message, type, param: null, code: null } };
}

export async function nativeGenerate(host: InferenceHost, ex: Exchange, kind: 'chat' | 'generate'): Promise<void> {
  const body = kind === 'chat' ? bodyOf(ex, ollamaChatSchema, 'ollama') : bodyOf(ex, ollamaGenerateSchema, 'ollama');
  const entry = body && modelOf(host, ex, body.model, 'completion', 'ollama');
  if (!body || !entry) return;
  const req = kind === 'chat' ? ollamaChatToCanonical(body) : ollamaGenerateToCanonical(body);
  const keepAlive = keepAliveMs(body.keep_alive);
  const empty = kind === 'chat' ? req.messages?.length === 0 : !req.prompt && !(body.images as unknown[] | undefined)?.length;
  const head = () => ({ model: body.model, created_at: new Date(host.now()).toISOString() });
  const text = (content: string) => (kind === 'chat' ? { message: { role: 'assistant', content } } : { response: content });
  if (empty && keepAlive === 0) {
    await host.residency.unload(entry.name);
    return sendJson(ex.res, 200, { ...head(), ...text(''), done: true, done_reason: 'unload' });
  }
  const lease = await host.residency.acquire(entry.name, body.options ?? {}, keepAlive);
  try {
    if (empty) return sendJson(ex.res, 200, { ...head(), ...text(''), done: true, done_reason: 'load' });
    const { prompt, all } = promptOf(req);
    const script = scriptReply((entry.spec.reply ?? echoReply)(prompt), req.sampling);
    const final = { ...head(), ...text(''), done: true, done_reason: script.finish, ...generationMetrics(promptTokens(all), script.tokens.length, lease.loaded) };
    if (!req.stream) {
      await pace(entry.spec.tokenMs, script.tokens.length);
      return sendJson(ex.res, 200, { ...final, ...text(script.tokens.join('')) });
    }
    const lines = [...script.tokens.map((t) => ndjsonLine({ ...head(), ...text(t), done: false })), ndjsonLine(final)];
    await host.stream(ex.res, 'application/x-ndjson', lines, (message) => ndjsonLine({ error: message }), entry.spec.tokenMs);
  } finally {
    lease.release();
  }
}

/** `/api/embed` (normalized vectors, metrics) and legacy `/api/embeddings` (raw vector only). */
export async function nativeEmbed(host: InferenceHost, ex: Exchange, legacy: boolean): Promise<void> {
  const body = legacy ? bodyOf(ex, ollamaEmbeddingsSchema, 'ollama') : bodyOf(ex, ollamaEmbedSchema, 'ollama');
  const entry = body && modelOf(host, ex, body.model, 'embedding', 'ollama');
  if (!body || !entry) return;
  const req = ollamaEmbedToCanonical(body);
  const lease = await host.residency.acquire(entry.name, body.options ?? {}, keepAliveMs(body.keep_alive));
  try {
    await pace(entry.spec.tokenMs, req.input.length);
    if (req.input.length === 0) return sendJson(ex.res, 200, legacy ? { embedding: [] } : { model: body.model, embeddings: [] });
    if (legacy) return sendJson(ex.res, 200, { embedding: scriptedVector(req.input[0], entry.embeddingLength) });
    const numCtx = Number(lease.options.num_ctx);
    if (req.truncate === false && req.input.some((t) => promptTokens(t) > numCtx)) {
      return sendJson(ex.res, 400, { error: 'input length exceeds maximum context length' });
    }
    const count = req.input.reduce((n, t) => n + Math.min(promptTokens(t), numCtx), 0);
    const m = generationMetrics(count, 0, lease.loaded);
    sendJson(ex.res, 200, {
      model: body.model, embeddings: vectors(entry, req.input, req.dimensions),
      total_duration: m.total_duration, load_duration: m.load_duration, prompt_eval_count: m.prompt_eval_count,
    });
  } finally {
    lease.release();
  }
}

/** The OpenAI layer: no keep_alive and no load options, so it runs with Ollama's defaults. */
export async function openaiGenerate(host: InferenceHost, ex: Exchange, kind: 'chat' | 'completion'): Promise<void> {
  const body = kind === 'chat' ? bodyOf(ex, openaiChatSchema, 'openai') : bodyOf(ex, openaiCompletionSchema, 'openai');
  const entry = body && modelOf(host, ex, body.model, 'completion', 'openai');
  if (!body || !entry) return;
  let req: GenerateRequest;
  try {
    req = kind === 'chat' ? openaiChatToCanonical(body as z.infer<typeof openaiChatSchema>) : openaiCompletionToCanonical(body as z.infer<typeof openaiCompletionSchema>);
  } catch (err) {
    return sendJson(ex.res, 400, errorBody('openai', 400, (err as Error).message));
  }
  const lease = await host.residency.acquire(entry.name, {}, undefined);
  try {
    const { prompt, all } = promptOf(req);
    const script = scriptReply((entry.spec.reply ?? echoReply)(prompt), req.sampling);
    const events: GenerateEvent[] = [
      ...script.tokens.map((content) => ({ type: 'delta' as const, content })),
      { type: 'done', finishReason: script.finish, usage: { promptTokens: promptTokens(all), completionTokens: script.tokens.length }, timings: {} },
    ];
    const meta = { model: body.model, created: Math.floor(host.now() / 1000) };
    if (!req.stream) {
      await pace(entry.spec.tokenMs, script.tokens.length);
      return sendJson(ex.res, 200, { ...openaiFinal(kind, events, meta), system_fingerprint: 'fp_ollama' });
    }
    const renderer = new OpenAIStreamRenderer({ kind, ...meta, includeUsage: Boolean(body.stream_options?.include_usage) });
    const lines = [...events.flatMap((ev) => renderer.chunks(ev)).map(sseEvent), sseEvent('[DONE]')];
    await host.stream(ex.res, 'text/event-stream', lines, (message) => sseEvent(errorBody('openai', 500, message)), entry.spec.tokenMs);
  } finally {
    lease.release();
  }
}

export async function openaiEmbeddings(host: InferenceHost, ex: Exchange): Promise<void> {
  const body = bodyOf(ex, openaiEmbeddingsSchema, 'openai');
  const entry = body && modelOf(host, ex, body.model, 'embedding', 'openai');
  if (!body || !entry) return;
  const req = openaiEmbeddingsToCanonical(body);
  const lease = await host.residency.acquire(entry.name, {}, undefined);
  await pace(entry.spec.tokenMs, req.input.length).finally(() => lease.release());
  const result = { embeddings: vectors(entry, req.input, req.dimensions), promptTokens: req.input.reduce((n, t) => n + promptTokens(t), 0), timings: {} };
  sendJson(ex.res, 200, openaiEmbeddingsReply(result, { model: body.model, encoding: body.encoding_format ?? 'float' }));
}

/** Parses the body with the dialect's schema; answers 400 with the first problem and returns undefined when invalid. */
function bodyOf<S extends z.ZodType>(ex: Exchange, schema: S, dialect: Dialect): z.output<S> | undefined {
  const parsed = schema.safeParse(ex.body);
  if (parsed.success) return parsed.data;
  sendJson(ex.res, 400, errorBody(dialect, 400, parsed.error.issues[0].message));
  return undefined;
}

/** The model, or a 404 (unknown) / 400 (wrong capability) answered as the daemon does. */
function modelOf(host: InferenceHost, ex: Exchange, name: string, capability: CatalogEntry['kind'], dialect: Dialect): CatalogEntry | undefined {
  const entry = host.catalog.get(name);
  if (!entry) sendJson(ex.res, 404, errorBody(dialect, 404, `model "${name}" not found, try pulling it first`));
  else if (entry.kind !== capability) {
    sendJson(ex.res, 400, errorBody(dialect, 400, `"${name}" does not support ${capability === 'embedding' ? 'embeddings' : 'generate'}`));
  } else return entry;
  return undefined;
}

/** Milliseconds for a keep_alive the schema accepted; negative = forever; absent stays absent. */
function keepAliveMs(value: number | string | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds = keepAliveSeconds(value) ?? 0;
  return seconds < 0 ? Infinity : seconds * 1000;
}

/** The text the reply echoes (last user turn, or the prompt) and all text the model reads. */
function promptOf(req: GenerateRequest): { prompt: string; all: string } {
  if (req.kind === 'completion') return { prompt: req.prompt ?? '', all: [req.system, req.prompt].filter(Boolean).join('\n') };
  const messages = req.messages ?? [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user') ?? messages[messages.length - 1];
  return { prompt: lastUser?.content ?? '', all: messages.map((m) => m.content).join('\n') };
}

function vectors(entry: CatalogEntry, input: string[], dimensions: number | undefined): number[][] {
  return input.map((text) => fitDimensions(normalize(scriptedVector(text, entry.embeddingLength)), dimensions));
}
