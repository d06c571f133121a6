import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedModel } from '../support/cached-model.js';
import { defaultChatSpec, defaultEmbeddingSpec } from '../../src/gguf/index.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { postJson, testGateway } from '../support/gateway.js';
import { requestRecords, until } from '../support/records.js';
import type { RunningGateway } from '../../src/app/server.js';

async function sse(res: Response): Promise<any[]> {
  const text = await res.text();
  return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
}

describe("llama-server's native API in front of an Ollama daemon (translated)", () => {
  let upstream: FakeOllama;
  let gw: RunningGateway;

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: 'llama3.2:latest' }, { name: 'nomic-embed-text:latest', kind: 'embedding' }] });
    await upstream.start();
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } } });
  });

  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers /completion streamed and not, routed by the model field or ?model=', async () => {
    const whole = await postJson(`${gw.url}/completion`, { model: 'llama3.2', prompt: 'hello there', n_predict: 4 });
    expect(whole.status).toBe(200);
    expect(whole.body).toMatchObject({ stop: true, tokens_evaluated: expect.any(Number) });
    expect(whole.body.timings.predicted_n).toBeGreaterThan(0);
    const streamed = await fetch(`${gw.url}/completion?model=llama3.2`, { method: 'POST', body: JSON.stringify({ prompt: 'hello there', stream: true }) });
    const chunks = await sse(streamed);
    expect(chunks.at(-1).stop).toBe(true);
    expect(chunks.slice(0, -1).every((c) => c.stop === false)).toBe(true);
  });

  it('answers /embedding with the default (only) embedding model', async () => {
    const res = await postJson(`${gw.url}/embedding`, { content: 'some text' });
    expect(res.status).toBe(200);
    expect(res.body[0].embedding[0].length).toBe(8);
  });

  it('records 499 when the client leaves: /completion in the middle of its stream, /embedding while its model loads', async () => {
    const cancelled = async (route: string) => until(() => requestRecords(gw.url), (recs) => recs.some((r) => r.route === route && r.status === 499));
    const gate = new Turnstile();
    upstream.streamGate = gate;
    try {
      gate.allow(1);
      const leaving = new AbortController();
      const res = await fetch(`${gw.url}/completion`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'hello there', stream: true }), signal: leaving.signal });
      expect((await res.body!.getReader().read()).done).toBe(false);
      await gate.waiting();
      leaving.abort();
      expect((await cancelled('/completion')).find((r) => r.route === '/completion' && r.status === 499)).toMatchObject({ error_code: 'WG_CLIENT_CLOSED', stream: true });
    } finally {
      gate.open();
      upstream.streamGate = undefined;
    }

    expect((await fetch(`${gw.url}/warmgate/models/nomic-embed-text/unload`, { method: 'POST' })).status).toBe(200);
    const loading = upstream.holdLoads('nomic-embed-text');
    const leaving = new AbortController();
    const request = fetch(`${gw.url}/embedding`, { method: 'POST', body: JSON.stringify({ content: 'leave me' }), signal: leaving.signal }).catch(() => undefined);
    await loading;
    leaving.abort();
    await request;
    upstream.releaseLoads('nomic-embed-text');
    expect((await cancelled('/embedding')).find((r) => r.route === '/embedding' && r.status === 499)).toMatchObject({ error_code: 'WG_CLIENT_CLOSED' });
  });

  it('says clearly what only a llama-server can answer', async () => {
    const res = await postJson(`${gw.url}/tokenize`, { model: 'llama3.2', content: 'x' });
    expect(res.status).toBe(501);
    expect(res.body.error.message).toContain('llama-server backend');
  });
});

describe("llama-server's native API in front of the embedded worker (passthrough)", () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    const chat = await cachedModel(defaultChatSpec());
    const emb = await cachedModel(defaultEmbeddingSpec());
    gw = await testGateway({
      backends: { embedded: { kind: 'embedded' } },
      models: { chat: { backend: 'embedded', file: chat.path, type: 'chat', threads: 1, ctx: 1024 }, emb: { backend: 'embedded', file: emb.path, type: 'embedding', threads: 1 } },
    });
  });

  afterAll(async () => gw.close());

  it('passes /completion, /tokenize and /props through to the model process', async () => {
    const whole = await postJson(`${gw.url}/completion`, { prompt: 'hello', n_predict: 3 });
    expect(whole.status).toBe(200);
    expect(whole.body.timings.predicted_n).toBeGreaterThan(0);
    const streamed = await fetch(`${gw.url}/completion`, { method: 'POST', body: JSON.stringify({ prompt: 'hello', n_predict: 3, stream: true }) });
    expect((await sse(streamed)).at(-1).stop).toBe(true);
    const tokens = await postJson(`${gw.url}/tokenize`, { content: 'hello world' });
    expect(tokens.body.tokens.length).toBeGreaterThan(0);
    const props = await (await fetch(`${gw.url}/props?model=chat`)).json();
    expect(props.default_generation_settings.n_ctx).toBeGreaterThan(0);
    const rec = (await requestRecords(gw.url)).find((r) => r.route === '/completion' && r.stream === false);
    expect(rec).toMatchObject({ dialect: 'llama-server', model: 'chat', backend: 'embedded', status: 200 });
    expect(rec?.gen_tokens).toBeGreaterThan(0);
  });

  it('answers /embedding through the batching path', async () => {
    const res = await postJson(`${gw.url}/embedding`, { content: ['a b c', 'd e f'] });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
    expect(res.body[1].index).toBe(1);
  });
});
