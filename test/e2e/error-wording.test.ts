/**
 * One wording per failure: the same failure says the same thing on /api/chat (Ollama,
 * passed through), /v1/chat/completions (OpenAI, translated) and /completion (llama-server's
 * native API, translated), whole or streamed; only the error's shape is the dialect's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';

const MODEL = 'llama3.2:latest';
let upstream: FakeOllama;
let gw: RunningGateway;
let dead: RunningGateway;
let deadUrl: string;
beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: MODEL }] });
  await upstream.start();
  gw = await testGateway({ backends: { o: { kind: 'ollama', url: upstream.url } }, models: { [MODEL]: { backend: 'o' } } });
  // A daemon that was there and is gone: its port refuses connections.
  const gone = new FakeOllama({ models: [{ name: MODEL }] });
  await gone.start();
  deadUrl = gone.url;
  await gone.close();
  // No breaker: every route must reach the dead port (a breaker's refusal has its own wording, host-health.test.ts).
  dead = await testGateway({ backends: { o: { kind: 'ollama', url: deadUrl, breaker: false } }, models: { [MODEL]: { backend: 'o' } } });
});
afterAll(async () => {
  await Promise.all([gw?.close(), dead?.close()]);
  await upstream?.close();
});

const bodies = (stream: boolean) => ({
  '/api/chat': { model: MODEL, messages: [{ role: 'user', content: 'a long story please' }], stream },
  '/v1/chat/completions': { model: MODEL, messages: [{ role: 'user', content: 'a long story please' }], stream },
  '/completion': { model: MODEL, prompt: 'a long story please', stream },
});

/** The error's message in whichever dialect shape it came: a whole reply, an NDJSON line, an SSE event. */
function messageOf(body: unknown): string | undefined {
  if (typeof body === 'string') {
    const pieces = body.split('\n').map((l) => l.replace(/^data: /, '').trim()).filter((l) => l.startsWith('{'));
    return pieces.map((p) => messageOf(JSON.parse(p))).find((m) => m !== undefined);
  }
  const error = (body as { error?: unknown }).error;
  return typeof error === 'string' ? error : (error as { message?: string } | undefined)?.message;
}

async function acrossRoutes(url: string, stream: boolean): Promise<Record<string, { status: number; message: string | undefined }>> {
  const out: Record<string, { status: number; message: string | undefined }> = {};
  for (const [path, body] of Object.entries(bodies(stream))) {
    const res = await postJson(`${url}${path}`, body);
    out[path] = { status: res.status, message: messageOf(res.body) };
  }
  return out;
}

describe('one wording per failure', () => {
  it('an unknown model', async () => {
    const res = await Promise.all(Object.entries(bodies(false)).map(([path, body]) => postJson(`${gw.url}${path}`, { ...body, model: 'nope' })));
    expect(new Set(res.map((r) => `${r.status} ${messageOf(r.body)}`))).toEqual(new Set(["404 model 'nope' not found"]));
  });

  it('a backend that cannot be reached', async () => {
    const seen = await acrossRoutes(dead.url, false);
    const texts = new Set(Object.values(seen).map((s) => `${s.status} ${s.message}`));
    expect(texts.size, JSON.stringify(seen)).toBe(1);
    expect([...texts][0]).toContain(`backend o at ${deadUrl} is unreachable`);
  });

  it('a backend that ends its stream before the final piece', async () => {
    upstream.endMidStream = 2;
    try {
      const seen = await acrossRoutes(gw.url, true);
      expect(new Set(Object.values(seen).map((s) => s.message)), JSON.stringify(seen)).toEqual(new Set(['the backend ended its reply before its final piece']));
    } finally {
      upstream.endMidStream = undefined;
    }
  });
});
