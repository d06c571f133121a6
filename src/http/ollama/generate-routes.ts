import type { Context, Hono } from 'hono';
import type { Gateway, ModelEntry, Prepared } from '../../gateway/gateway.js';
import type { GenerateEvent } from '../../dialects/canonical.js';
import { ndjsonLine, ndjsonLineObject, ndjsonObjects } from '../../dialects/ndjson.js';
import { isEmptyOllamaRequest, OllamaRenderer, ollamaChatToCanonical, ollamaGenerateToCanonical, ollamaObjectToEvents } from '../../dialects/ollama.js';
import { ollamaChatSchema, ollamaGenerateSchema } from '../../dialects/ollama-schemas.js';
import { readBody } from '../body.js';
import { answered } from '../errors.js';
import { recorded, scopeOf } from '../request-scope.js';
import { collect, streamReply } from '../streaming.js';
import { residencyOnly } from './residency-only.js';

const NDJSON = 'application/x-ndjson';
type Kind = 'chat' | 'generate';
type Body = Record<string, unknown>;

/**
 * `/api/chat` and `/api/generate`. To an Ollama backend the body passes through with the
 * pinned load options and keep-alive written in (every other field kept); to any other
 * backend it is translated through the canonical model and rendered as Ollama's objects.
 */
export function registerOllamaGenerate(app: Hono, gw: Gateway): void {
  for (const kind of ['chat', 'generate'] as const) app.post(`/api/${kind}`, recorded(gw, 'ollama', `/api/${kind}`), (c) => handle(c, gw, kind));
}

async function handle(c: Context, gw: Gateway, kind: Kind): Promise<Response> {
  const body = (await readBody(c, kind === 'chat' ? ollamaChatSchema : ollamaGenerateSchema)) as Body;
  const entry = await gw.resolve(body.model, c.get('record'));
  c.get('record').record.stream = body.stream !== false;
  if (isEmptyOllamaRequest(kind, body)) return residencyOnly(c, gw, entry, body, kind);
  // Pins are fixed from the first request's options, so apply them before a load can happen.
  const pinned = gw.prepare(entry, body, c.get('record'));
  return gw.speaks(entry, 'ollama') ? passthrough(c, gw, entry, body, pinned, kind) : translated(c, gw, entry, body, kind);
}

/**
 * The daemon's own reply, as the client will see it (model name put back): NDJSON objects
 * streamed, or the one object of a non-streamed reply. An `{"error"}` object is recorded
 * (a non-streamed one answers 500, as Ollama does).
 */
async function passthrough(c: Context, gw: Gateway, entry: ModelEntry, body: Body, pinned: Prepared, kind: Kind): Promise<Response> {
  const out = { ...body, model: entry.upstream, options: pinned.options, keep_alive: pinned.keep_alive };
  const call = { method: 'POST', path: `/api/${kind}`, body: out } as const;
  const events = (obj: unknown) => (typeof (obj as Body).error === 'string' ? [] : ollamaObjectToEvents(obj));
  const record = c.get('record');
  const stream = body.stream !== false;
  const named = (obj: unknown): Body => {
    const o = obj as Body;
    if (typeof o.error !== 'string') return { ...o, model: body.model };
    record.finish(stream ? 200 : 500, { message: o.error, code: 'WG_UPSTREAM_ERROR' });
    return o;
  };
  if (!stream) {
    const reply = named((await gw.forwardWhole(entry, call, scopeOf(c), { parse: ndjsonLineObject, events })).reply);
    return typeof reply.error === 'string' ? c.json(reply, 500) : answered(c, reply);
  }
  const pieces = await gw.forward(entry, call, scopeOf(c), { read: ndjsonObjects, events });
  return streamReply(c, pieces, { contentType: NDJSON, piece: (obj) => ndjsonLine(named(obj)), error: (e) => ndjsonLine({ error: e.message }) });
}

/** Any other backend: canonical events rendered as Ollama's objects, with the gateway's own load and total times. */
async function translated(c: Context, gw: Gateway, entry: ModelEntry, body: Body, kind: Kind): Promise<Response> {
  const req = kind === 'chat' ? ollamaChatToCanonical(body as never) : ollamaGenerateToCanonical(body as never);
  req.model = entry.name;
  const events = await gw.generate(entry, req, scopeOf(c));
  const renderer = new OllamaRenderer({ kind, model: String(body.model) });
  const record = c.get('record');
  // Ollama's `load_duration` runs from handler entry until a runner is acquired (queue and
  // load), and `total_duration` is the whole request; the backend knows neither.
  const timed = (ev: GenerateEvent): GenerateEvent =>
    ev.type === 'done' ? { ...ev, timings: { ...ev.timings, loadMs: record.record.queue_ms + (ev.timings.loadMs ?? 0), totalMs: record.elapsed() } } : ev;
  if (body.stream === false) return answered(c, renderer.final((await collect(events)).map(timed)));
  return streamReply(c, events, { contentType: NDJSON, piece: (ev) => ndjsonLine(renderer.chunk(timed(ev))), error: (e) => ndjsonLine({ error: e.message }) });
}
