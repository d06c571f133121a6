import { Ollama, type ChatResponse } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayStatus, requestRecords } from '../support/records.js';
import { CHAT, modelState, startEngineGateway, waitForStatus, type EngineHarness } from './engine-harness.js';

/**
 * The embedded worker process SIGKILLed while it streams a reply: the client gets an error
 * in its dialect, the request record says so, and the next request reloads the model and
 * succeeds. The reply is long enough (200 tokens) to still be streaming when the kill lands.
 */
const LONG = { num_predict: 200, temperature: 0 };

describe('a worker killed mid-stream', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineGateway();
  });

  afterAll(async () => {
    await h?.close();
  });

  /** SIGKILLs the chat model's worker; returns its pid. */
  function killChatWorker(): number {
    const pid = h.backend.pidOf(CHAT);
    expect(pid, 'the chat model has a running worker').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    return pid!;
  }

  it('fails an Ollama stream with an error line the client throws on, records the error, and the next chat reloads and succeeds', async () => {
    const ollama = new Ollama({ host: h.url });
    const loadsBefore = (await gatewayStatus(h.url)).counters.loads;

    const stream = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'tell me a long story' }], stream: true, options: LONG });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect((first.value as ChatResponse).done).toBe(false);
    const killed = killChatWorker();

    const rest: ChatResponse[] = [];
    await expect((async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    })()).rejects.toThrow(/crash|exited|not running/i);
    expect(rest.some((p) => p.done)).toBe(false);

    const record = (await requestRecords(h.url)).find((r) => r.route === '/api/chat' && r.stream);
    expect(record).toMatchObject({ model: CHAT, error_code: 'WG_BACKEND_CRASHED' });
    expect(record!.error).toMatch(/crash/i);

    // The very next request, sent at once: the model is started again and answers.
    const reply = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'are you back?' }], stream: false, options: { num_predict: 8, temperature: 0 } });
    expect(reply.done).toBe(true);
    expect(reply.eval_count).toBeGreaterThan(0);
    expect(h.backend.pidOf(CHAT)).toBeDefined();
    expect(h.backend.pidOf(CHAT)).not.toBe(killed);
    const after = await gatewayStatus(h.url);
    expect(after.counters.loads).toBeGreaterThan(loadsBefore);
    const latest = (await requestRecords(h.url))[0];
    expect(latest).toMatchObject({ route: '/api/chat', status: 200, model: CHAT });
    expect(latest.error).toBeUndefined();
    expect(latest.load_ms).toBeGreaterThan(0);
  });

  it('fails an OpenAI stream that was paused until the gateway noticed the crash, and the next chat reloads and succeeds', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'sk-no-key', maxRetries: 0 });
    // Make sure the model is up (the previous test may have left it either way).
    await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'warm up' }], max_tokens: 1 });
    const loadsBefore = (await gatewayStatus(h.url)).counters.loads;

    const stream = await client.chat.completions.create({
      model: CHAT, messages: [{ role: 'user', content: 'tell me another long story' }], max_tokens: LONG.num_predict, temperature: 0, stream: true,
    });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    killChatWorker();
    // The client reads nothing more until the gateway has seen the process exit (the scheduler
    // no longer holds the model ready): the crash is noticed while the lease is still held.
    await waitForStatus(h.url, (s) => modelState(s, CHAT)?.state !== 'ready', 'the crash to be noticed');

    await expect((async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) expect(r.value.choices[0]?.finish_reason ?? null).toBeNull();
    })()).rejects.toThrow(/crash|exited|not running/i);

    const record = (await requestRecords(h.url)).find((r) => r.route === '/v1/chat/completions' && r.stream);
    expect(record).toMatchObject({ model: CHAT, error_code: 'WG_BACKEND_CRASHED' });

    const reply = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'back again?' }], max_tokens: 8, temperature: 0 });
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    expect((await gatewayStatus(h.url)).counters.loads).toBeGreaterThan(loadsBefore);
  });
});
