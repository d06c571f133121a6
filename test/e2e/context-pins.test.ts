import { Ollama } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { OllamaGateway } from '../support/ollama-gateway.js';
import { requestRecords } from '../support/records.js';
import type { ConfigInput } from '../../src/config/schema.js';

/**
 * Context pins only grow (issue 11): Open WebUI's chat (no num_ctx) first, then
 * AnythingLLM's `num_ctx: 16384`, through the real `ollama` client, against the scripted
 * daemon (which reloads on any load-option change, as Ollama does).
 */
const CHAT = 'llama3.2:latest';
/** About 3000 tokens by the gateway's estimate (4 bytes a token). */
const LONG = 'lorem ipsum dolor sit amet '.repeat(450);

describe('context pins', () => {
  const rig = new OllamaGateway();
  afterEach(() => rig.close());

  async function start(models: ConfigInput['models'] = {}): Promise<{ ollama: Ollama; daemon: FakeOllama; url: string }> {
    const { daemon, url } = await rig.start([{ name: CHAT, contextLength: 32768 }], { models });
    return { ollama: new Ollama({ host: url }), daemon, url };
  }

  /** The num_ctx of every chat call the daemon received (preloads and unloads aside). */
  const chatContexts = (daemon: FakeOllama) => daemon.requests
    .filter((r) => r.path === '/api/chat')
    .map((r) => (r.body as { options?: { num_ctx?: number } }).options?.num_ctx);

  it('Open WebUI first, then AnythingLLM: 16384 after one reload, and on every later request whichever client sends it', async () => {
    const { ollama, daemon, url } = await start();
    const webui = () => ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'hi' }], stream: false });
    const anything = () => ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'rag' }], keep_alive: 300, options: { num_ctx: 16384, temperature: 0.7 }, stream: false });
    await webui();
    await anything();
    await webui();
    await anything();
    const openai = await postJson(`${url}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: 'v1' }] });
    expect(openai.status).toBe(200);

    const loads = daemon.loads.map((l) => l.options.num_ctx);
    expect(loads).toEqual([4096, 16384]); // the daemon's default, then one reload upward
    // The /v1 call reaches the daemon as /api/chat too.
    expect(chatContexts(daemon)).toEqual([undefined, 16384, 16384, 16384, 16384]);

    const records = (await requestRecords(url)).filter((r) => r.route === '/api/chat').reverse();
    expect(records.map((r) => r.num_ctx)).toEqual([
      { asked: null, pinned: null }, { asked: 16384, pinned: 16384 }, { asked: null, pinned: 16384 }, { asked: 16384, pinned: 16384 },
    ]);
  });

  it('a request for less runs in the larger context that is loaded', async () => {
    const { ollama, daemon } = await start();
    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'a' }], options: { num_ctx: 16384 }, stream: false });
    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'b' }], options: { num_ctx: 8192 }, stream: false });
    expect(daemon.loads.map((l) => l.options.num_ctx)).toEqual([16384]);
    expect(chatContexts(daemon)).toEqual([16384, 16384]);
  });

  it('grows no further than max_ctx, or the model\'s own context_length', async () => {
    const { ollama, daemon, url } = await start({ [CHAT]: { max_ctx: 8192 } });
    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'a' }], options: { num_ctx: 16384 }, stream: false });
    expect(chatContexts(daemon)).toEqual([8192]);
    expect((await requestRecords(url))[0].num_ctx).toEqual({ asked: 16384, pinned: 8192 });
    await rig.gateway?.close();
    rig.gateway = await testGateway({ backends: { ollama: { kind: 'ollama', url: daemon.url } } });
    await new Ollama({ host: rig.gateway.url }).chat({ model: CHAT, messages: [{ role: 'user', content: 'b' }], options: { num_ctx: 65536 }, stream: false });
    expect(chatContexts(daemon).at(-1)).toBe(32768);
  });

  it('a prompt longer than the default context pins one that holds it, instead of being cut', async () => {
    const { ollama, daemon } = await start();
    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: LONG }], stream: false });
    expect(chatContexts(daemon)).toEqual([4096]);
  });

  it('a prompt longer than a fixed pin gets the dialect\'s context-length error, never a silent cut', async () => {
    const { ollama, daemon, url } = await start({ [CHAT]: { pin: { num_ctx: 2048 } } });
    await expect(ollama.chat({ model: CHAT, messages: [{ role: 'user', content: LONG }], stream: false }))
      .rejects.toMatchObject({ status_code: 400, error: expect.stringContaining('input length exceeds maximum context length') });
    const openai = await postJson(`${url}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: LONG }] });
    expect(openai.status).toBe(400);
    expect(openai.body.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded' });
    expect(chatContexts(daemon)).toEqual([]);
  });
});
