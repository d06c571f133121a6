import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { requestRecords } from '../support/records.js';
import type { RunningGateway } from '../../src/app/server.js';

/**
 * The real mix RUNTIMES.md describes, on one chat model and one embedding model:
 * AnythingLLM chat (num_ctx 16384, keep_alive 300), Open WebUI chat (no options),
 * AnythingLLM's embedder (num_ctx 1000) and an OpenAI /v1 call.
 */
const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

async function replayMix(base: string, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const anything = await postJson(`${base}/api/chat`, {
      model: CHAT, stream: false, keep_alive: 300, options: { num_ctx: 16384, temperature: 0.7 },
      messages: [{ role: 'user', content: `question ${i}` }],
    });
    expect(anything.status).toBe(200);
    const embed = await postJson(`${base}/api/embed`, { model: EMBED, input: [`chunk ${i}`], options: { num_ctx: 1000 } });
    expect(embed.status).toBe(200);
    const webui = await postJson(`${base}/api/chat`, { model: CHAT, stream: false, messages: [{ role: 'user', content: `hello ${i}` }] });
    expect(webui.status).toBe(200);
    const openai = await postJson(`${base}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: `v1 ${i}` }] });
    expect(openai.status).toBe(200);
  }
}

describe('the AnythingLLM + Open WebUI + OpenAI mix', () => {
  let upstream: FakeOllama;
  let gateway: RunningGateway | undefined;

  beforeEach(async () => {
    upstream = new FakeOllama({ models: [{ name: CHAT, contextLength: 131072 }, { name: EMBED, kind: 'embedding' }] });
    await upstream.start();
  });

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await upstream.close();
  });

  it('reloads the chat model on every switch when sent straight to Ollama', async () => {
    await replayMix(upstream.url, 3);
    // Each round switches num_ctx 16384 -> default -> (the /v1 layer's default) and back.
    expect(upstream.loadCount(CHAT)).toBeGreaterThanOrEqual(6);
  });

  it('loads each model exactly once through the gateway, and records what it pinned', async () => {
    gateway = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } } });
    await replayMix(gateway.url, 3);
    expect(upstream.loadCount(CHAT)).toBe(1);
    expect(upstream.loadCount(EMBED)).toBe(1);

    const loads = upstream.loads.filter((l) => l.model === CHAT);
    expect(loads[0].options).toMatchObject({ num_ctx: 16384 });

    const records = await requestRecords(gateway.url);
    const webui = records.find((r) => r.route === '/api/chat' && !r.overrides?.keep_alive);
    expect(webui).toBeDefined();
    const anything = records.find((r) => r.route === '/api/chat' && r.overrides?.keep_alive);
    expect(anything?.overrides?.keep_alive).toEqual({ sent: 300, pinned: -1 });
    const embedRecord = records.find((r) => r.route === '/api/embed');
    expect(embedRecord?.model).toBe(EMBED);
  });

  it('pins config values over what clients send', async () => {
    gateway = await testGateway({
      backends: { ollama: { kind: 'ollama', url: upstream.url } },
      models: { [CHAT]: { backend: 'ollama', pin: { num_ctx: 8192 } } },
    });
    await replayMix(gateway.url, 2);
    expect(upstream.loadCount(CHAT)).toBe(1);
    expect(upstream.loads.find((l) => l.model === CHAT)?.options).toMatchObject({ num_ctx: 8192 });
    const pinned = (await requestRecords(gateway.url)).find((r) => r.overrides?.num_ctx);
    expect(pinned?.overrides?.num_ctx).toEqual({ sent: 16384, pinned: 8192 });
  });
});
