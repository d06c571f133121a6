import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import type { RunningGateway } from '../../src/app/server.js';
import type { ScheduledResidency } from '../../src/residency/scheduled-residency.js';
import { gatewayStatus, requestRecords } from '../support/records.js';

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

describe('residency in front of an Ollama daemon', () => {
  let upstream: FakeOllama;
  let gw: RunningGateway | undefined;

  beforeEach(async () => {
    upstream = new FakeOllama({ models: [{ name: CHAT, size: 4_000_000_000 }, { name: EMBED, kind: 'embedding', size: 300_000_000 }] });
    await upstream.start();
  });

  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await upstream.close();
  });

  it('preloads with the pinned options and keep-alive forever, and unloads with keep_alive 0', async () => {
    gw = await testGateway({
      backends: { ollama: { kind: 'ollama', url: upstream.url } },
      models: { [CHAT]: { pin: { num_ctx: 8192 } } },
    });
    const load = await fetch(`${gw.url}/warmgate/models/${CHAT}/load`, { method: 'POST' });
    expect(load.status).toBe(200);
    const preload = upstream.requests.find((r) => r.path === '/api/generate');
    expect(preload?.body).toMatchObject({ model: CHAT, prompt: '', keep_alive: -1, options: { num_ctx: 8192 } });
    expect(upstream.resident().map((m) => m.name)).toContain(CHAT);

    const status = await gatewayStatus(gw.url);
    expect(status.models.find((m) => m.name === CHAT)?.state).toBe('ready');
    expect(status.counters.loads).toBe(1);

    const unload = await fetch(`${gw.url}/warmgate/models/${CHAT}/unload`, { method: 'POST' });
    expect(unload.status).toBe(200);
    expect(upstream.resident().map((m) => m.name)).not.toContain(CHAT);
    const last = upstream.requests.filter((r) => r.path === '/api/generate').at(-1);
    expect(last?.body).toMatchObject({ model: CHAT, keep_alive: 0, options: { num_ctx: 8192 } });
  });

  it("ignores a client's unload of a model that does not allow it, without loading a cold model", async () => {
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } } });
    const reply = await postJson(`${gw.url}/api/generate`, { model: CHAT, prompt: '', keep_alive: 0 });
    expect(reply.status).toBe(200);
    expect(reply.body.done).toBe(true);
    expect(upstream.loadCount(CHAT)).toBe(0);
    const records = await requestRecords(gw.url);
    expect(records[0].overrides?.keep_alive).toEqual({ sent: 0, pinned: -1 });
  });

  it('rejects past the queue limit with 429 and Retry-After, in the client dialect, instead of hanging', async () => {
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } }, scheduler: { max_queue_per_model: 2 } });
    const held = upstream.holdLoads(CHAT);
    const chat = (i: number) => postJson(`${gw!.url}/api/chat`, { model: CHAT, stream: false, messages: [{ role: 'user', content: `q${i}` }] });
    const waiting = [chat(1), chat(2)];
    await held; // the load is in progress; both requests wait in the queue
    const rejected = await chat(3);
    expect(rejected.status).toBe(429);
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(typeof rejected.body.error).toBe('string');
    const openai = await postJson(`${gw.url}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: 'x' }] });
    expect(openai.status).toBe(429);
    expect(openai.body.error.code).toBe('WG_QUEUE_FULL');
    upstream.releaseLoads(CHAT);
    for (const r of await Promise.all(waiting)) expect(r.status).toBe(200);
    expect(upstream.loadCount(CHAT)).toBe(1);
  });

  it('notices when Ollama drops a model behind its back and loads it again on the next request', async () => {
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } }, scheduler: { reconcile_s: 0 } });
    expect((await postJson(`${gw.url}/api/generate`, { model: CHAT, prompt: 'hi', stream: false })).status).toBe(200);
    // Someone else unloads it straight at the daemon.
    await postJson(`${upstream.url}/api/generate`, { model: CHAT, keep_alive: 0 });
    const residency = gw.residency as ScheduledResidency;
    await residency.reconcile();
    const status = await gatewayStatus(gw.url);
    expect(status.models.find((m) => m.name === CHAT)?.state).toBe('unloaded');
    expect((await postJson(`${gw.url}/api/generate`, { model: CHAT, prompt: 'again', stream: false })).status).toBe(200);
    expect(status.counters.loads).toBe(1);
    const after = await gatewayStatus(gw.url);
    expect(after.counters.loads).toBe(2);
  });

  it('swaps once per burst when two models cannot co-reside', async () => {
    gw = await testGateway({
      // The daemon's own VRAM, configured: the chat model as /api/ps reports it (4 GB) and the
      // embedding model's estimate (0.35 GB) do not fit together.
      backends: { ollama: { kind: 'ollama', url: upstream.url, memory: { gpu: 4_200_000_000 } } },
    });
    const held = upstream.holdLoads(CHAT);
    const first = postJson(`${gw.url}/api/chat`, { model: CHAT, stream: false, messages: [{ role: 'user', content: 'first' }] });
    await held;
    // While the chat model loads, a RAG burst arrives: embed, chat, embed, chat ...
    const burst = [];
    for (let i = 0; i < 4; i++) {
      burst.push(postJson(`${gw.url}/api/embed`, { model: EMBED, input: `chunk ${i}` }));
      burst.push(postJson(`${gw.url}/api/chat`, { model: CHAT, stream: false, messages: [{ role: 'user', content: `q${i}` }] }));
    }
    upstream.releaseLoads(CHAT);
    for (const r of await Promise.all([first, ...burst])) expect(r.status).toBe(200);
    // chat (with its queued chats), then one swap to the embedding model.
    expect(upstream.loadCount(CHAT)).toBe(1);
    expect(upstream.loadCount(EMBED)).toBe(1);
    const status = await gatewayStatus(gw.url);
    expect(status.counters.evictions).toBe(1);
    expect(status.pools.find((p) => p.name === 'ollama:gpu')?.used).toBeLessThanOrEqual(4_200_000_000);
  });
});
