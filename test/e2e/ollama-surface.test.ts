import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { postJson, testGateway } from '../support/gateway.js';
import type { RunningGateway } from '../../src/app/server.js';
import { requestRecords } from '../support/records.js';

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

/** Reads a streamed body line by line as it arrives. */
async function* lines(res: Response): AsyncGenerator<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) yield line;
    }
  }
}

describe('the Ollama surface in front of an Ollama daemon', () => {
  let upstream: FakeOllama;
  let gw: RunningGateway;

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: CHAT, contextLength: 131072 }, { name: EMBED, kind: 'embedding' }], hostCheck: true });
    await upstream.start();
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } }, server: { body_limit: '1MiB' } });
  });

  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers GET and HEAD / like Ollama', async () => {
    const get = await fetch(`${gw.url}/`);
    expect(await get.text()).toBe('Ollama is running');
    expect((await fetch(`${gw.url}/`, { method: 'HEAD' })).status).toBe(200);
  });

  it('rewrites Host so a loopback-bound Ollama accepts the call from any client name the gateway accepts', async () => {
    // undici's request, not fetch: fetch drops a Host header. A LAN name the gateway's own
    // Host check lets through; the daemon here accepts loopback names only.
    const res = await request(`${gw.url}/api/tags`, { headers: { host: 'warmgate.local:11435' } });
    expect(res.statusCode).toBe(200);
    const { models } = (await res.body.json()) as { models: Array<{ name: string }> };
    expect(models.map((m) => m.name).sort()).toEqual([CHAT, EMBED]);
    for (const r of upstream.requests) expect(String(r.headers.host)).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('asks the daemon for its model list once per /api/tags', async () => {
    const before = upstream.requests.filter((r) => r.path === '/api/tags').length;
    expect((await fetch(`${gw.url}/api/tags`)).status).toBe(200);
    expect(upstream.requests.filter((r) => r.path === '/api/tags').length - before).toBe(1);
  });

  it('names the model in a passed-through reply as the client asked for it, streamed and whole', async () => {
    for (const asked of ['llama3.2', CHAT]) {
      const whole = await postJson(`${gw.url}/api/chat`, { model: asked, messages: [{ role: 'user', content: 'hi there' }], stream: false });
      expect(whole.status).toBe(200);
      expect(whole.body).toMatchObject({ model: asked, done: true, message: { content: 'You said: hi there' } });
      const streamed = await fetch(`${gw.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: asked, prompt: 'hi there' }) });
      const objects: Array<Record<string, unknown>> = [];
      for await (const line of lines(streamed)) objects.push(JSON.parse(line));
      expect(objects.length).toBeGreaterThan(1);
      expect(objects.every((o) => o.model === asked)).toBe(true);
      expect(objects.at(-1)).toMatchObject({ done: true });
    }
  });

  it('passes version, show and the management routes through', async () => {
    expect(await (await fetch(`${gw.url}/api/version`)).json()).toEqual({ version: '0.6.8' });
    const show = await postJson(`${gw.url}/api/show`, { model: 'llama3.2' });
    expect(show.status).toBe(200);
    expect(show.body.capabilities).toContain('completion');
    expect(show.body.model_info['llama.context_length']).toBe(131072);

    const pull = await fetch(`${gw.url}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'qwen3:0.6b' }) });
    expect(pull.headers.get('content-type')).toContain('ndjson');
    const statuses: string[] = [];
    for await (const line of lines(pull)) statuses.push(JSON.parse(line).status);
    expect(statuses.at(-1)).toBe('success');

    const del = await fetch(`${gw.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'qwen3:0.6b' }) });
    expect(del.status).toBe(200);
  });

  it('streams each NDJSON line to the client as soon as the upstream sends it', async () => {
    const gate = (upstream.streamGate = new Turnstile());
    try {
      const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: 'one two three four' }] }) });
      expect(res.headers.get('content-type')).toContain('application/x-ndjson');
      const it = lines(res);
      // The upstream has released nothing: let exactly one line through and read exactly it.
      await gate.waiting();
      gate.allow(1);
      const first = JSON.parse((await it.next()).value!);
      expect(first.done).toBe(false);
      expect(first.model).toBe(CHAT);
      // While the stream is held, the catalog routes still answer at once.
      await gate.waiting();
      for (const path of ['/api/tags', '/api/ps', '/api/version', '/v1/models']) expect((await fetch(`${gw.url}${path}`)).status).toBe(200);
      expect((await postJson(`${gw.url}/api/show`, { model: CHAT })).status).toBe(200);
      gate.open();
      let last: any;
      for await (const line of it) last = JSON.parse(line);
      expect(last.done).toBe(true);
      expect(last.eval_count).toBeGreaterThan(0);
    } finally {
      upstream.streamGate = undefined;
    }
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const gate = (upstream.streamGate = new Turnstile());
    try {
      const ac = new AbortController();
      const res = await fetch(`${gw.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: CHAT, prompt: 'tell me a long story' }), signal: ac.signal });
      const it = lines(res);
      await gate.waiting();
      gate.allow(1);
      await it.next();
      const call = upstream.requests.filter((r) => r.path === '/api/generate').at(-1)!;
      ac.abort();
      expect(await call.outcome).toBe('aborted');
    } finally {
      upstream.streamGate?.open();
      upstream.streamGate = undefined;
    }
  });

  it('sends a mid-stream error as an {"error"} line, as Ollama does', async () => {
    upstream.errorMidStream = { afterChunks: 1, message: 'model runner has unexpectedly stopped' };
    try {
      const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: 'hi there friend' }] }) });
      expect(res.status).toBe(200);
      const all = [];
      for await (const line of lines(res)) all.push(JSON.parse(line));
      expect(all.at(-1)).toEqual({ error: 'model runner has unexpectedly stopped' });
    } finally {
      upstream.errorMidStream = undefined;
    }
  });

  it('puts the timing on non-streamed replies in Server-Timing and in the request log', async () => {
    const res = await postJson(`${gw.url}/api/generate`, { model: CHAT, prompt: 'why is the sky blue', stream: false });
    expect(res.status).toBe(200);
    const timing = res.headers.get('server-timing')!;
    expect(timing).toMatch(/queue;dur=[\d.]+/);
    expect(timing).toMatch(/gen;dur=[\d.]+/);
    const r = (await requestRecords(gw.url, 5)).find((x) => x.route === '/api/generate' && x.stream === false)!;
    expect(r).toMatchObject({ dialect: 'ollama', model: CHAT, backend: 'ollama', status: 200 });
    expect(r.prompt_ms).toBeGreaterThan(0);
    expect(r.gen_ms).toBeGreaterThan(0);
    expect(r.gen_tokens).toBeGreaterThan(0);
    expect(r.tokens_per_s).toBeGreaterThan(0);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('warmgate_request_phase_ms_bucket');
  });

  it('serves the dashboard, which reads the status and request endpoints', async () => {
    const res = await fetch(`${gw.url}/warmgate`);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('/warmgate/status');
    expect(html).toContain('/warmgate/requests');
  });

  describe('errors in the Ollama dialect', () => {
    it('malformed JSON is a 400 with {"error"}', async () => {
      const res = await postJson(`${gw.url}/api/chat`, '{"model": "x",');
      expect(res.status).toBe(400);
      expect(typeof res.body.error).toBe('string');
    });

    it('an unknown model is a 404', async () => {
      const res = await postJson(`${gw.url}/api/chat`, { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
      expect(res.status).toBe(404);
      expect(res.body.error).toContain('nope');
    });

    it('a body over the limit is a 413', async () => {
      const res = await postJson(`${gw.url}/api/generate`, { model: CHAT, prompt: 'x'.repeat(2 * 1024 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.error).toContain('limit');
    });

    it("the upstream's own error keeps its status and message", async () => {
      // Ollama refuses a keep_alive duration without a unit; so does the gateway, in Ollama's words.
      const res = await postJson(`${gw.url}/api/generate`, { model: CHAT, prompt: 'x', keep_alive: '300' });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain('missing unit in duration');
      const bad = await postJson(`${gw.url}/api/embed`, { model: CHAT, input: 'x' });
      expect(bad.status).toBeGreaterThanOrEqual(400);
      expect(typeof bad.body.error).toBe('string');
    });
  });

  describe('errors in the OpenAI dialect', () => {
    it('malformed JSON, unknown model and bad fields are {"error": {message, type, code}}', async () => {
      const bad = await postJson(`${gw.url}/v1/chat/completions`, 'nope');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', code: 'WG_BAD_JSON' });
      const missing = await postJson(`${gw.url}/v1/chat/completions`, { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
      expect(missing.status).toBe(404);
      expect(missing.body.error.message).toContain('nope');
      const invalid = await postJson(`${gw.url}/v1/embeddings`, { model: EMBED });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.message).toMatch(/input/);
    });
  });
});

describe('an upstream that cannot be reached', () => {
  it('is a 502 naming the backend, in each dialect', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const gw = await testGateway({
      backends: { box: { kind: 'ollama', url: `http://127.0.0.1:${port}`, discover: false } },
      models: { [CHAT]: { backend: 'box' } },
    });
    try {
      const ollama = await postJson(`${gw.url}/api/chat`, { model: CHAT, messages: [{ role: 'user', content: 'x' }] });
      expect(ollama.status).toBe(502);
      expect(ollama.body.error).toContain('box');
      const openai = await postJson(`${gw.url}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: 'x' }] });
      expect(openai.status).toBe(502);
      expect(openai.body.error.message).toContain('box');
      // The catalog still answers (empty) instead of failing.
      expect((await fetch(`${gw.url}/api/tags`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
