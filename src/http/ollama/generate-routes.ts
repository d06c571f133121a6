import type { Context, Hono } from 'hono';
import type { Gateway, ModelEntry, Prepared } from '../../gateway/gateway.js';
import type { GenerateEvent } from '../../dialects/canonical.js';
import { ndjsonEntries, ndjsonLine, ndjsonLineObject, type NdjsonEntry } from '../../dialects/ndjson.js';
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
  for (const kind of ['chat', 'generate'] as const) app.post(`/api/${kind}`, recorded(gw, 'ollama', `/api/${kind}`, (c) => handle(c, gw, kind)));
}

async function handle(c: Context, gw: Gateway, kind: Kind): Promise<Response> {
  const body = (await readBody(c, kind === 'chat' ? ollamaChatSchema : ollamaGenerateSchema)) as Body;
  const entry = await gw.resolve(body.model, c.get('record'));
  c.get('record').record.stream = body.stream !== false;
  if (isEmptyOllamaRequest(kind, body)) return residencyOnly(c, gw, entry, body, kind);
  // Pins settle (and a context grows) from the request's options before a load can happen.
  const pinned = await gw.prepare(entry, body, c.get('record'));
  return gw.speaks(entry, 'ollama') ? passthrough(c, gw, entry, body, pinned, kind) : translated(c, gw, entry, body, kind);
}

/**
 * The daemon's own reply, as the client will see it: NDJSON lines streamed, or the one
 * object of a non-streamed reply. Each is parsed (its figures go on the record) and sent
 * on as it came, unless the daemon names the model otherwise than the client did (an
 * alias, a name without its tag): then it is re-serialised with the client's name. An
 * `{"error"}` object is recorded (a non-streamed one answers 500, as Ollama does).
 */
async function passthrough(c: Context, gw: Gateway, entry: ModelEntry, body: Body, pinned: Prepared, kind: Kind): Promise<Response> {
  const out = { ...body, model: entry.upstream, options: pinned.options, keep_alive: pinned.keep_alive };
  const call = { method: 'POST', path: `/api/${kind}`, body: out } as const;
  const record = c.get('record');
  const stream = body.stream !== false;
  const renamed = body.model !== entry.upstream;
  /** The line to send for one reply object (without its newline). */
  const text = ({ line, value }: NdjsonEntry): string => {
    const waited = (value as Body).done === true ? gatewayWait(value as Body, record.record) : undefined;
    return renamed || waited ? JSON.stringify({ ...(value as Body), model: body.model, ...waited }) : line;
  };
  if (!stream) {
    const failed = (value: unknown): value is { error: string } => typeof (value as Body).error === 'string';
    const events = ({ value }: NdjsonEntry) => (failed(value) ? [] : ollamaObjectToEvents(value));
    const { reply } = await gw.forwardWhole(entry, call, scopeOf(c), { parse: (line) => ({ line, value: ndjsonLineObject(line) }), events });
    if (!failed(reply.value)) return answered(c, text(reply));
    // Ollama answers a whole reply's error object with 500 and that object.
    record.finish(500, { message: reply.value.error, code: 'WG_UPSTREAM_ERROR' });
    return c.body(reply.line, 500, { 'content-type': 'application/json' });
  }
  // Streamed, an upstream error line throws in the tap (`ollamaObjectToEvents`): the reply
  // ends with the stream's own error piece (same text), and the record says so.
  const pieces = await gw.forward(entry, call, scopeOf(c), { read: ndjsonEntries, events: ({ value }) => ollamaObjectToEvents(value) });
  return streamReply(c, pieces, { contentType: NDJSON, piece: (reply) => `${text(reply)}\n`, error: (e) => ndjsonLine({ error: e.message }) });
}

/** Any other backend: canonical events rendered as Ollama's objects, with the gateway's own load and total times. */
async function translated(c: Context, gw: Gateway, entry: ModelEntry, body: Body, kind: Kind): Promise<Response> {
  const req = kind === 'chat' ? ollamaChatToCanonical(body as never) : ollamaGenerateToCanonical(body as never);
  req.model = entry.name;
  const events = await gw.generate(entry, req, scopeOf(c));
  const renderer = new OllamaRenderer({ kind, model: String(body.model) });
  const record = c.get('record');
  // Ollama's `load_duration` runs from handler entry until a runner is acquired (queue and
  // load; the record's load_ms holds the backend's own by now), and `total_duration` is the
  // whole request; the backend knows neither.
  const timed = (ev: GenerateEvent): GenerateEvent =>
    ev.type === 'done' ? { ...ev, timings: { ...ev.timings, loadMs: record.record.queue_ms + record.record.load_ms, totalMs: record.elapsed() } } : ev;
  if (body.stream === false) return answered(c, renderer.final((await collect(events)).map(timed)));
  return streamReply(c, events, { contentType: NDJSON, piece: (ev) => ndjsonLine(renderer.chunk(timed(ev))), error: (e) => ndjsonLine({ error: e.message }) });
}

/**
 * The daemon's `load_duration` (ns) counts only its own queue and load; the queue and the
 * load the gateway waited for on the request's behalf go in too, and into
 * `total_duration`. The record's load_ms already holds the daemon's load (noted first).
 * Undefined when the gateway added less than a millisecond (a ready model's grant): the
 * daemon's line then goes out as it came, not re-serialised for a few microseconds.
 */
function gatewayWait(o: Body, r: { queue_ms: number; load_ms: number }): Body | undefined {
  const daemon = typeof o.load_duration === 'number' ? o.load_duration : 0;
  const added = Math.round((r.queue_ms + r.load_ms) * 1e6) - daemon;
  if (added < 1_000_000) return undefined;
  return { load_duration: daemon + added, ...(typeof o.total_duration === 'number' ? { total_duration: o.total_duration + added } : {}) };
}
