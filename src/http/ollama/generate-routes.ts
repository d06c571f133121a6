import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { noteEvent } from '../../gateway/gateway.js';
import { ndjsonLine, ndjsonLineObject, ndjsonObjects } from '../../dialects/ndjson.js';
import { OllamaRenderer, ollamaChatToCanonical, ollamaGenerateToCanonical, ollamaObjectToEvents } from '../../dialects/ollama.js';
import { ollamaChatSchema, ollamaGenerateSchema } from '../../dialects/ollama-schemas.js';
import { keepAliveSeconds } from '../../config/units.js';
import type { GenerateEvent } from '../../dialects/canonical.js';
import type { ModelEntry } from '../../models/model-entry.js';
import { readText, upstreamStatusError } from '../../proxy/upstream-pool.js';
import type { RequestTimer } from '../../telemetry/timer.js';
import { readBody } from '../body.js';
import { answered, failed, streamFailure } from '../errors.js';
import { requestAbort, streamResponse } from '../streaming.js';

const NDJSON = 'application/x-ndjson';
type Kind = 'chat' | 'generate';
type Body = Record<string, unknown>;
/** Reply objects in order: a stream's, or the single one of a non-streamed reply. */
type Replies = AsyncIterable<Body> | Iterable<Body>;

/**
 * `/api/chat` and `/api/generate`. To an Ollama backend the body passes through with the
 * pinned load options and keep-alive written in (every other field kept); to any other
 * backend it is translated through the canonical model and rendered as Ollama NDJSON.
 */
export function registerOllamaGenerate(app: Hono, gw: Gateway): void {
  app.post('/api/chat', (c) => handle(c, gw, 'chat'));
  app.post('/api/generate', (c) => handle(c, gw, 'generate'));
}

async function handle(c: Context, gw: Gateway, kind: Kind): Promise<Response> {
  const timer = gw.parts.telemetry.start('ollama', `/api/${kind}`);
  const abort = requestAbort(c);
  try {
    const body = (await readBody(c, kind === 'chat' ? ollamaChatSchema : ollamaGenerateSchema)) as Body;
    const entry = await gw.resolve(body.model, timer);
    timer.record.stream = body.stream !== false;
    if (isEmptyRequest(kind, body)) return await residencyOnly(c, gw, entry, body, kind, timer, abort.signal);
    // Pins are fixed from the first request's options, so apply them before a load can happen.
    const pinned = pinnedBody(gw, entry, body, timer);
    if (entry.backend.dialect !== 'ollama') {
      // The gateway's generate path holds the lease and releases it when the events end.
      return await respond(c, await translated(gw, entry, body, kind, timer, abort.signal), body, kind, timer, () => abort.abort());
    }
    const lease = await gw.acquire(entry, timer, abort.signal);
    try {
      const lines = await passthrough(entry, body, pinned, kind, timer, abort.signal);
      return await respond(c, lines, body, kind, timer, () => {
        abort.abort();
        lease.release();
      }, lease.release);
    } catch (err) {
      lease.release();
      throw err;
    }
  } catch (err) {
    return failed(c, 'ollama', timer, err);
  }
}

/** The body as the backend gets it: the upstream's model name, the pinned load options and keep-alive. */
function pinnedBody(gw: Gateway, entry: ModelEntry, body: Body, timer: RequestTimer): Body {
  const { pins } = gw.parts;
  return { ...body, model: entry.upstream, options: pins.apply(entry, body.options as Body | undefined, timer), keep_alive: pins.keepAlive(entry, body.keep_alive, timer).keep_alive };
}

/**
 * An Ollama backend's own reply, as the client will see it (model name put back): NDJSON
 * lines, or the one object of a non-streamed reply (read whole, parsed once).
 */
async function passthrough(entry: ModelEntry, body: Body, out: Body, kind: Kind, timer: RequestTimer, signal: AbortSignal): Promise<Replies> {
  const res = await entry.backend.call({ method: 'POST', path: `/api/${kind}`, body: out, signal });
  if (res.status >= 400) throw upstreamStatusError(res.status, await readText(res.body), entry.backend.name);
  const clientModel = body.model;
  const seen = (line: Body): Body => {
    if (typeof line.error === 'string') return line;
    for (const ev of ollamaObjectToEvents(line)) noteEvent(timer, ev);
    return { ...line, model: clientModel };
  };
  if (body.stream === false) return [seen(ndjsonLineObject(await readText(res.body)) as Body)];
  return (async function* () {
    for await (const obj of ndjsonObjects(res.body)) yield seen(obj as Body);
  })();
}

/** Any other backend: canonical events rendered as Ollama objects. */
async function translated(gw: Gateway, entry: ModelEntry, body: Body, kind: Kind, timer: RequestTimer, signal: AbortSignal): Promise<AsyncIterable<Body>> {
  const req = kind === 'chat' ? ollamaChatToCanonical(body as never) : ollamaGenerateToCanonical(body as never);
  req.model = entry.name;
  const events = await gw.generate(entry, req, timer, signal);
  const renderer = new OllamaRenderer({ kind, model: String(body.model) });
  return (async function* () {
    for await (const ev of events) yield renderer.chunk(withGatewayTimings(ev, timer)) as Body;
  })();
}

/**
 * A backend that is not Ollama reports only its own prompt and generation times. Ollama's
 * `load_duration` runs from handler entry until a runner is acquired (queue and load), and
 * `total_duration` is the whole request: both come from the gateway's own clock.
 */
function withGatewayTimings(ev: GenerateEvent, timer: RequestTimer): GenerateEvent {
  if (ev.type !== 'done') return ev;
  return { ...ev, timings: { ...ev.timings, loadMs: timer.record.queue_ms + (ev.timings.loadMs ?? 0), totalMs: timer.elapsed() } };
}

/** Streams NDJSON (an error mid-stream becomes an `{"error"}` line, as Ollama does) or answers one object. */
async function respond(c: Context, objects: Replies, body: Body, kind: Kind, timer: RequestTimer, onCancel: () => void, release: () => void = () => {}): Promise<Response> {
  if (body.stream === false) {
    try {
      let last: Body | undefined;
      const merged: Body[] = [];
      for await (const obj of objects) merged.push((last = obj));
      const reply = mergeNonStreamed(merged, kind) ?? last ?? {};
      if (typeof reply.error === 'string') {
        timer.finish(500, { message: reply.error, code: 'WG_UPSTREAM_ERROR' });
        return c.json(reply, 500);
      }
      return answered(c, timer, reply);
    } finally {
      release();
    }
  }
  const lines = (async function* () {
    try {
      for await (const obj of objects) {
        if (typeof obj.error === 'string') timer.finish(200, { message: obj.error, code: 'WG_UPSTREAM_ERROR' });
        yield ndjsonLine(obj);
      }
      timer.finish(200);
    } catch (err) {
      const e = streamFailure(timer, err);
      if (e) yield ndjsonLine({ error: e.message });
    } finally {
      release();
    }
  })();
  return streamResponse(c, lines, NDJSON, () => {
    timer.finish(499, { message: 'client disconnected', code: 'WG_CLIENT_CLOSED' });
    onCancel();
  });
}

/**
 * A non-streamed request to a passthrough upstream already arrives as one object; a
 * translated one arrives as chunks that must be joined into Ollama's single reply.
 */
function mergeNonStreamed(objects: Body[], kind: Kind): Body | undefined {
  if (objects.length <= 1) return objects[0];
  const done = objects[objects.length - 1];
  if (kind === 'generate') return { ...done, response: objects.map((o) => (o.response as string) ?? '').join('') };
  const content = objects.map((o) => ((o.message as Body | undefined)?.content as string) ?? '').join('');
  return { ...done, message: { ...(done.message as Body), role: 'assistant', content } };
}

function asksUnload(keepAlive: unknown): boolean {
  return (typeof keepAlive === 'number' || typeof keepAlive === 'string') && keepAliveSeconds(keepAlive) === 0;
}

function isEmptyRequest(kind: Kind, body: Body): boolean {
  if (kind === 'chat') return !Array.isArray(body.messages) || body.messages.length === 0;
  return (body.prompt === undefined || body.prompt === '') && !body.images;
}

/**
 * Ollama's preload (empty prompt, or no messages) and unload (`keep_alive: 0`). A client's
 * unload is honoured only where the model allows it; otherwise the model stays resident
 * and the reply says `load` (the record notes the ignored keep_alive).
 */
async function residencyOnly(c: Context, gw: Gateway, entry: ModelEntry, body: Body, kind: Kind, timer: RequestTimer, signal: AbortSignal): Promise<Response> {
  gw.parts.pins.apply(entry, body.options as Body | undefined, timer);
  const { unload } = gw.parts.pins.keepAlive(entry, body.keep_alive, timer);
  if (unload) await gw.parts.residency.unload(entry);
  // An unload the model does not allow is ignored: it must not load the model either.
  else if (!asksUnload(body.keep_alive)) (await gw.acquire(entry, timer, signal)).release();
  const reply: Body = { model: body.model, created_at: new Date().toISOString(), done: true, done_reason: unload ? 'unload' : 'load' };
  if (kind === 'chat') reply.message = { role: 'assistant', content: '' };
  else reply.response = '';
  return answered(c, timer, reply);
}
