import { Ollama } from 'ollama';
import OpenAI from 'openai-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { gatewayStatus } from '../support/records.js';

/**
 * A front Warmgate with a `kind: warmgate` backend in front of a back Warmgate (keyed) in
 * front of the scripted Ollama: two real gateways on loopback, the real clients at the front.
 */

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';
const KEY = 'inference-key-0123456789abcdef';

/** The daemon, the back gateway (an inference key asked) and a front whose warmgate backend `remote` has `front`'s keys. */
class Stack {
  daemon!: FakeOllama;
  back!: RunningGateway;
  front!: RunningGateway;

  async start(front: Partial<Extract<NonNullable<ConfigInput['backends']>[string], { kind: 'warmgate' }>> = { api_key: KEY }, opts: { maxLoaded?: number; models?: ConfigInput['models'] } = {}): Promise<this> {
    this.daemon = new FakeOllama({ models: [{ name: CHAT, contextLength: 8192 }, { name: EMBED, kind: 'embedding', embeddingLength: 8 }], maxLoaded: opts.maxLoaded });
    await this.daemon.start();
    this.back = await testGateway({ server: { api_keys: [{ key: KEY, scope: 'inference' }] }, backends: { ollama: { kind: 'ollama', url: this.daemon.url } } });
    this.front = await testGateway({ backends: { remote: { kind: 'warmgate', url: this.back.url, ...front } }, models: opts.models });
    return this;
  }

  async close(): Promise<void> {
    await this.front?.close({ drainMs: 0 });
    await this.back?.close({ drainMs: 0 });
    await this.daemon?.close();
  }
}

describe('a front Warmgate with a warmgate backend', () => {
  const stack = new Stack();
  let ollama: Ollama;
  let openai: OpenAI;

  beforeAll(async () => {
    await stack.start();
    ollama = new Ollama({ host: stack.front.url });
    openai = new OpenAI({ baseURL: `${stack.front.url}/v1`, apiKey: 'null', maxRetries: 0 });
  });
  afterAll(() => stack.close());

  it('lists the remote models (discovered through its /api/tags)', async () => {
    const { models } = await ollama.list();
    expect(models.map((m) => m.name).sort()).toEqual([CHAT, EMBED]);
  });

  it('serves the ollama client: chat whole and streamed, embed', async () => {
    const whole = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'hello there' }], stream: false });
    expect(whole).toMatchObject({ model: CHAT, done: true, message: { role: 'assistant', content: 'You said: hello there' } });

    const parts = [];
    for await (const part of await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'stream me' }], stream: true })) parts.push(part);
    expect(parts.map((p) => p.message.content).join('')).toBe('You said: stream me');
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });

    const { embeddings } = await ollama.embed({ model: EMBED, input: ['one', 'two'] });
    expect(embeddings).toHaveLength(2);
    expect(embeddings[0]).toHaveLength(8);
  });

  it('serves the openai client: chat whole and streamed, embeddings (base64 by default)', async () => {
    const reply = await openai.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.choices[0].message.content).toBe('You said: hi');

    let text = '';
    for await (const chunk of await openai.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'flow' }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('You said: flow');

    const { data } = await openai.embeddings.create({ model: EMBED, input: ['alpha'] });
    expect(data[0].embedding).toHaveLength(8);
  });

  it("shows the remote's residency in its /api/ps", async () => {
    await ollama.embed({ model: EMBED, input: 'warm' });
    const remote = (await (await fetch(`${stack.back.url}/api/ps`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { models: Array<{ name: string; size_vram: number }> };
    const front = await ollama.ps();
    expect(front.models.map((m) => m.name).sort()).toEqual(remote.models.map((m) => m.name).sort());
    expect(front.models.map((m) => m.name)).toContain(EMBED);
  });

  it("reports each remote's models and pools in its /warmgate/status, and a host it cannot read as such", async () => {
    await ollama.embed({ model: EMBED, input: 'warm' });
    const status = await gatewayStatus(stack.front.url);
    expect(status.hosts.remote).toMatchObject({ models: expect.arrayContaining([{ name: EMBED, state: 'ready', queued: 0, inFlight: 0, maxParallel: 4, bytes: expect.any(Number) }]) });
    expect((status.hosts.remote as { pools: Array<{ name: string }> }).pools.map((p) => p.name)).toContain('ollama:gpu');

    const lost = await testGateway({ backends: { gone: { kind: 'warmgate', url: 'http://127.0.0.1:9', discover: false } } });
    try {
      expect((await gatewayStatus(lost.url)).hosts.gone).toMatchObject({ error: expect.any(String) });
    } finally {
      await lost.close({ drainMs: 0 });
    }
  });

  it("has the back gateway's per-host gauges in its /metrics (for a router that places requests itself)", async () => {
    await ollama.embed({ model: EMBED, input: 'warm' });
    const text = await (await fetch(`${stack.back.url}/metrics`)).text();
    expect(text).toContain(`warmgate_model_resident{model="${EMBED}"} 1`);
    expect(text).toContain(`warmgate_model_queue_depth{model="${EMBED}"} 0`);
    expect(text).toMatch(/warmgate_pool_free_bytes\{pool="ram"\} \d+/);
  });

  it("passes the client's keep_alive on for the remote's policy: a client's unload does not unload", async () => {
    const unloads = stack.daemon.unloads.length;
    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'x' }], keep_alive: 0, stream: false });
    expect(stack.daemon.unloads.length).toBe(unloads);
    const last = stack.daemon.requests.filter((r) => r.path === '/api/chat').at(-1)!.body as { keep_alive: unknown };
    expect(last.keep_alive).toBe(-1);
  });

  it("passes the client's load options on for the remote to pin (its context grows)", async () => {
    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'x' }], options: { num_ctx: 4096 }, stream: false });
    const last = stack.daemon.requests.filter((r) => r.path === '/api/chat').at(-1)!.body as { options: { num_ctx: number } };
    expect(last.options.num_ctx).toBe(4096);
  });
});

describe('a front whose key the back gateway refuses', () => {
  const stacks: Stack[] = [];
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.close()));
  });

  it("answers the remote's 401 as a 502 naming the backend and its api_key", async () => {
    const stack = new Stack();
    stacks.push(stack);
    await stack.start({ discover: false }, { models: { [CHAT]: { backend: 'remote' } } });
    const chat = await postJson(`${stack.front.url}/api/chat`, { model: CHAT, messages: [{ role: 'user', content: 'x' }], stream: false });
    expect(chat.status).toBe(502);
    expect(chat.body.error).toMatch(/Warmgate backend remote answered 401: it asks for a key and backends\.remote\.api_key is not set/);
    const v1 = await postJson(`${stack.front.url}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: 'x' }] });
    expect(v1.status).toBe(502);
    expect(v1.body.error.message).toMatch(/backends\.remote\.api_key/);
  });

  it('says so for a wrong key too, when the discovered catalog cannot be read', async () => {
    const stack = new Stack();
    stacks.push(stack);
    await stack.start({ api_key: 'some-other-key-0123456789' });
    const chat = await postJson(`${stack.front.url}/api/chat`, { model: CHAT, messages: [{ role: 'user', content: 'x' }], stream: false });
    expect(chat.status).toBe(502);
    expect(chat.body.error).toMatch(/Warmgate backend remote answered 401: it refused backends\.remote\.api_key/);
  });
});

describe('switching models through the front', () => {
  const stacks: Stack[] = [];
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.close()));
  });

  /** chat, embed, chat, embed, one after another, at `url` (the front, or the back itself). */
  async function switches(url: string): Promise<void> {
    const headers = { authorization: `Bearer ${KEY}` };
    for (let i = 0; i < 2; i++) {
      expect((await postJson(`${url}/api/chat`, { model: CHAT, messages: [{ role: 'user', content: `q${i}` }], stream: false }, { headers: { ...headers, 'content-type': 'application/json' } })).status).toBe(200);
      expect((await postJson(`${url}/api/embed`, { model: EMBED, input: `d${i}` }, { headers: { ...headers, 'content-type': 'application/json' } })).status).toBe(200);
    }
  }

  it('loads and unloads at the daemon exactly as the back gateway alone does (the front never sends keep_alive 0)', async () => {
    const viaFront = new Stack();
    const direct = new Stack();
    stacks.push(viaFront, direct);
    // One model at a time at the daemon: every switch is a swap.
    await Promise.all([viaFront.start(undefined, { maxLoaded: 1 }), direct.start(undefined, { maxLoaded: 1 })]);
    await switches(viaFront.front.url);
    await switches(direct.back.url);
    expect(viaFront.daemon.loads.map((l) => l.model)).toEqual(direct.daemon.loads.map((l) => l.model));
    expect(viaFront.daemon.unloads).toEqual(direct.daemon.unloads);
    const sentZero = viaFront.daemon.requests.filter((r) => (r.body as { keep_alive?: unknown } | undefined)?.keep_alive === 0);
    expect(sentZero.length).toBe(direct.daemon.requests.filter((r) => (r.body as { keep_alive?: unknown } | undefined)?.keep_alive === 0).length);
  });
});
