/**
 * One AnythingLLM user asking a question through its Ollama provider (RUNTIMES.md, "Clients"),
 * with the real `ollama` npm client: the embedder checks `GET /` and embeds the query
 * (`input` of one, `options.num_ctx` = its max chunk length 1000, no keep_alive); the chat
 * provider lists the models and shows every one at once (reading each context length), then
 * streams `/api/chat` with `keep_alive: 300`, `num_ctx` = min(the model's context, 16384) and
 * a temperature. A question stops at its first failed request, as AnythingLLM shows the error.
 *
 * Each request's outcome is tallied:
 * - `ok`;
 * - `error`: an HTTP error reply with its body (the client's `ResponseError`): clean;
 * - `cut`: a stream that ended with the dialect's error line: clean, counted apart;
 * - `lost`: no reply (refused, reset, nothing within the limit) or a broken one (a stream
 *   closed mid-body or without `done`, a body that is not JSON).
 */
import { Ollama } from 'ollama';

export type Outcome = 'ok' | 'error' | 'cut' | 'lost';

export interface Question {
  embedder: string;
  chat: string;
  text: string;
}

/** Requests by outcome, and the failures' messages (digits folded) by count. */
export class Tally {
  readonly outcomes: Record<Outcome, number> = { ok: 0, error: 0, cut: 0, lost: 0 };
  readonly messages: Record<string, number> = {};

  get sent(): number {
    return Object.values(this.outcomes).reduce((a, b) => a + b, 0);
  }

  /** Runs one request and counts how it ended; resolves with its value, or undefined when it failed. */
  async count<T>(request: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await request();
      this.outcomes.ok++;
      return value;
    } catch (err) {
      const outcome = outcomeOf(err as Error);
      this.outcomes[outcome]++;
      const message = `${outcome}: ${(err as Error).message.replace(/\d+/g, 'N').slice(0, 100)}`;
      this.messages[message] = (this.messages[message] ?? 0) + 1;
      return undefined;
    }
  }
}

const STREAM_WITHOUT_DONE = 'Did not receive done or success response in stream.';
const CHAT_CTX_CAP = 16384;
const EMBED_CHUNK = 1000;

/** A thrown error's outcome; see the file's comment. */
function outcomeOf(err: Error): Exclude<Outcome, 'ok'> {
  if (err.name === 'ResponseError') return 'error';
  // The client throws a plain Error with the line's message for an `{"error"}` line; a
  // refused, reset or cut connection is fetch's TypeError; a limit is a TimeoutError; a body
  // that is not JSON, a SyntaxError.
  if (err.name === 'Error' && err.message !== STREAM_WITHOUT_DONE) return 'cut';
  return 'lost';
}

/** A client whose every request (a stream to its end) is abandoned after `limitMs`: no reply by then is lost. */
export function ollamaClient(url: string, limitMs: number): Ollama {
  const limited: typeof fetch = (input, init) => fetch(input, {
    ...init, signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(limitMs)]) : AbortSignal.timeout(limitMs),
  });
  return new Ollama({ host: url, fetch: limited });
}

/** Asks `q` through `url`; resolves with the whole question's time in ms when every request succeeded. */
export async function ask(url: string, client: Ollama, q: Question, tally: Tally, limitMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  const up = await tally.count(async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(limitMs) });
    await res.arrayBuffer();
    // An error status is a reply, as the client's own ResponseError.
    if (!res.ok) throw Object.assign(new Error(`GET /: ${res.status}`), { name: 'ResponseError' });
    return true;
  });
  if (!up) return undefined;
  const vectors = await tally.count(() => client.embed({ model: q.embedder, input: [q.text], options: { num_ctx: EMBED_CHUNK } }));
  if (!vectors) return undefined;
  const list = await tally.count(() => client.list());
  if (!list) return undefined;
  const shown = await Promise.all(list.models.map((m) => tally.count(() => client.show({ model: m.name }))));
  if (shown.some((s) => s === undefined)) return undefined;
  const info = shown[list.models.findIndex((m) => m.name === q.chat || m.name === `${q.chat}:latest`)]?.model_info as Record<string, unknown> | undefined;
  const ctx = Number(Object.entries(info ?? {}).find(([k]) => k.endsWith('.context_length'))?.[1] ?? CHAT_CTX_CAP);
  const answered = await tally.count(async () => {
    const stream = await client.chat({
      model: q.chat, stream: true, keep_alive: 300, options: { num_ctx: Math.min(ctx, CHAT_CTX_CAP), temperature: 0.7 },
      messages: [{ role: 'system', content: `Context:\n[passage about ${q.text}]` }, { role: 'user', content: q.text }],
    });
    // The client throws unless the stream ends with `done` (or on an error line).
    for await (const part of stream) if (part.done) break;
    return true;
  });
  return answered ? performance.now() - t0 : undefined;
}
