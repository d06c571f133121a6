import { totalmem } from 'node:os';
import { Ollama } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FakeOllama, type FakeModelSpec } from '../fakes/ollama-upstream.js';
import { testGateway } from '../support/gateway.js';
import { gatewayStatus, until } from '../support/records.js';

/**
 * An Ollama daemon with its own GPU behind the gateway, configured as a new user would
 * (`--ollama URL`, nothing else), driven by the real `ollama` client the way AnythingLLM
 * uses it: before each question its embedder checks `GET /` and embeds the query
 * (`num_ctx` 1000), then the chat lists the models, shows each, and streams the answer
 * (`num_ctx` 16384, `keep_alive` 300).
 */
const CHAT = 'llama3.1:8b';
const EMBED = 'bge-m3:latest';
const GB = 1e9;
const VRAM = 16 * GB;

/** One question; `i` is unique per question (the gateway's embedding cache would answer a repeated query). */
async function question(base: string, i: number): Promise<string> {
  const client = new Ollama({ host: base });
  expect((await fetch(`${base}/`)).status).toBe(200);
  const { embeddings } = await client.embed({ model: EMBED, input: [`what does chapter ${i} say?`], options: { num_ctx: 1000 } });
  expect(embeddings).toHaveLength(1);
  await client.list();
  await Promise.all([CHAT, EMBED].map((model) => client.show({ model })));
  const stream = await client.chat({
    model: CHAT, stream: true, keep_alive: 300, options: { num_ctx: 16384, temperature: 0.7 },
    messages: [{ role: 'user', content: `context ${i}\nquestion ${i}` }],
  });
  let answer = '';
  for await (const part of stream) answer += part.message.content;
  return answer;
}

describe('an Ollama daemon with its own GPU, quick start (nothing configured)', () => {
  let upstream: FakeOllama;
  let gw: RunningGateway | undefined;

  async function start(models: FakeModelSpec[], extra: Partial<ConfigInput> = {}): Promise<RunningGateway> {
    upstream = new FakeOllama({ models, vram: VRAM });
    await upstream.start();
    // What `--ollama URL` makes of the config.
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url, discover: true } }, ...extra });
    return gw;
  }

  let asked = 0;

  /** A burst: `users` questions at once, their embeddings all queued before the embedding model is in. */
  async function burst(users: number): Promise<void> {
    const held = upstream.holdLoads(EMBED);
    const questions = Array.from({ length: users }, () => question(gw!.url, ++asked));
    await held;
    await until(() => gatewayStatus(gw!.url), (s) => s.models.find((m) => m.name === EMBED)?.queued === users);
    upstream.releaseLoads(EMBED);
    for (const answer of await Promise.all(questions)) expect(answer).toContain('question');
  }

  afterEach(async () => {
    asked = 0;
    await gw?.close();
    gw = undefined;
    await upstream.close();
  });

  it("loads a model larger than the gateway host's RAM: the daemon's memory is not the gateway's", async () => {
    const size = Math.ceil(totalmem() * 1.5);
    upstream = new FakeOllama({ models: [{ name: CHAT, size }, { name: EMBED, kind: 'embedding', size: GB }], vram: size + GB });
    await upstream.start();
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url, discover: true } } });
    expect(await question(gw.url, 1)).toContain('question 1');
    const status = await gatewayStatus(gw.url);
    const pools = Object.fromEntries(status.pools.map((p) => [p.name, p]));
    expect(pools.ram.used).toBe(0);
    expect(pools['ollama:gpu'].used).toBe(size + GB);
    expect(pools['ollama:gpu'].budget, 'a capacity nobody knows').toBeUndefined();
    // The estimate (listed size + 15 %) gave way to the size /api/ps reports.
    expect(status.models.find((m) => m.name === CHAT)?.heldBytes).toEqual({ 'ollama:ram': 0, 'ollama:gpu': size });
  });

  it('never causes an eviction with two models that fit together', async () => {
    await start([{ name: CHAT, size: 8 * GB }, { name: EMBED, kind: 'embedding', size: 1.2 * GB }]);
    for (let i = 0; i < 3; i++) await question(gw!.url, ++asked);
    await Promise.all(Array.from({ length: 3 }, () => question(gw!.url, ++asked)));
    expect(upstream.unloads).toEqual([]);
    expect([upstream.loadCount(CHAT), upstream.loadCount(EMBED)]).toEqual([1, 1]);
    const status = await gatewayStatus(gw!.url);
    expect(status.counters.evictions).toBe(0);
    expect(status.conflicts).toEqual([]);
  });

  it('learns that two models do not fit together from the first eviction, then swaps once per burst', async () => {
    await start([{ name: CHAT, size: 12 * GB }, { name: EMBED, kind: 'embedding', size: 11 * GB }], { batching: { window_ms: 0 } });
    // The first question: the embedding model loads, then the chat model, and the daemon drops the embedding model.
    await question(gw!.url, ++asked);
    expect(upstream.unloads).toEqual([EMBED]);
    expect((await gatewayStatus(gw!.url)).conflicts).toEqual([[EMBED, CHAT].sort()]);

    const loads = upstream.loads.length;
    const bursts = 3;
    const users = 3;
    for (let b = 0; b < bursts; b++) await burst(users);
    // users x 2 requests per burst; one load of each model per burst.
    expect(upstream.loads.length - loads).toBe(2 * bursts);
    expect([upstream.loadCount(CHAT), upstream.loadCount(EMBED)]).toEqual([1 + bursts, 1 + bursts]);
    // Every unload since was the gateway's own (it swaps before loading): the daemon never had to evict.
    const status = await gatewayStatus(gw!.url);
    expect(upstream.unloads.length - 1).toBe(status.counters.evictions);
    expect(status.counters.evictions).toBe(2 * bursts);
  });

  it('counts a model another client loaded at the size the daemon reports', async () => {
    await start([{ name: CHAT, size: 12 * GB }, { name: EMBED, kind: 'embedding', size: 11 * GB }], { scheduler: { reconcile_s: 0 } });
    const direct = new Ollama({ host: upstream.url });
    await direct.generate({ model: CHAT, prompt: '', keep_alive: -1 });
    await gw!.residency.reconcile();
    const chat = (await gatewayStatus(gw!.url)).models.find((m) => m.name === CHAT);
    expect(chat).toMatchObject({ state: 'ready', heldBytes: { 'ollama:ram': 0, 'ollama:gpu': 12 * GB } });
    // Served without a load of its own.
    expect(await question(gw!.url, 1)).toContain('question 1');
    expect(upstream.loadCount(CHAT)).toBe(2); // the other client's, and once more after the embedding model displaced it
  });

  it('forgets what it learned when a model is deleted, and when the daemon goes away', async () => {
    await start([{ name: CHAT, size: 12 * GB }, { name: EMBED, kind: 'embedding', size: 11 * GB }, { name: 'qwen3:4b', size: 5 * GB }], { scheduler: { reconcile_s: 0 } });
    await question(gw!.url, 0);
    const client = new Ollama({ host: gw!.url });
    await client.generate({ model: 'qwen3:4b', prompt: '' });
    expect((await gatewayStatus(gw!.url)).conflicts).toEqual([[EMBED, CHAT].sort(), ['qwen3:4b', CHAT].sort()]);
    await client.delete({ model: 'qwen3:4b' });
    expect((await gatewayStatus(gw!.url)).conflicts).toEqual([[EMBED, CHAT].sort()]);
    await upstream.close();
    await gw!.residency.reconcile();
    expect((await gatewayStatus(gw!.url)).conflicts).toEqual([]);
  });
});
