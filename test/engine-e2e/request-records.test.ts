import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/telemetry/record.js';
import { CHAT, startEngineGateway, type EngineHarness } from './engine-harness.js';
import { latestRecord } from '../support/records.js';

/**
 * Request records for real inference on the embedded worker: the phases come from the
 * worker's llama-server `timings`, and the load shows up once, on the request that waited
 * for it. The gateway starts cold (nothing loaded) for this file.
 */
const OPTIONS = { num_predict: 8, temperature: 0 };

function expectGenerationPhases(r: RequestRecord): void {
  expect(r.backend).toBe('embedded');
  expect(r.status).toBe(200);
  expect(r.error).toBeUndefined();
  expect(r.prompt_tokens).toBeGreaterThan(0);
  expect(r.gen_tokens).toBeGreaterThan(0);
  expect(r.gen_tokens).toBeLessThanOrEqual(OPTIONS.num_predict);
  expect(r.prompt_ms).toBeGreaterThan(0);
  expect(r.gen_ms).toBeGreaterThan(0);
  expect(r.ttft_ms).toBeGreaterThan(0);
  expect(r.ttft_ms).toBeLessThanOrEqual(r.total_ms);
  expect(r.tokens_per_s).toBeGreaterThan(0);
  // The worker's own phases fit inside what the gateway measured.
  expect(r.prompt_ms! + r.gen_ms!).toBeLessThanOrEqual(r.total_ms);
}

describe('request records of real inference on the embedded engine', () => {
  let h: EngineHarness;
  let ollama: Ollama;

  beforeAll(async () => {
    h = await startEngineGateway();
    ollama = new Ollama({ host: h.url });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('records the load on the first chat after a cold start and none on the next, with the worker\'s phases on both', async () => {
    const cold = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'first after start' }], stream: false, options: OPTIONS });
    const coldRecord = await latestRecord(h.url, '/api/chat');
    expectGenerationPhases(coldRecord);
    expect(coldRecord.load_ms).toBeGreaterThan(0);
    // queue_ms never counts the load: the two add up to the wait, inside the total.
    expect(coldRecord.queue_ms + coldRecord.load_ms).toBeLessThan(coldRecord.total_ms);
    // The Ollama reply tells the same story: a load_duration, inside a total that covers it.
    expect(cold.load_duration).toBe(Math.round((coldRecord.queue_ms + coldRecord.load_ms) * 1e6));
    expect(cold.total_duration).toBeGreaterThan(cold.load_duration);
    expect(cold.total_duration).toBeGreaterThan(cold.eval_duration + cold.prompt_eval_duration);

    await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'second, warm' }], stream: false, options: OPTIONS });
    const warmRecord = await latestRecord(h.url, '/api/chat');
    expect(warmRecord.id).not.toBe(coldRecord.id);
    expectGenerationPhases(warmRecord);
    expect(warmRecord.load_ms).toBe(0);
  });

  it('records the worker\'s phases for a streamed Ollama generate', async () => {
    const stream = await ollama.generate({ model: CHAT, prompt: 'stream a few words', stream: true, options: OPTIONS });
    let last;
    for await (const part of stream) last = part;
    const record = await latestRecord(h.url, '/api/generate');
    expectGenerationPhases(record);
    expect(record).toMatchObject({ stream: true, load_ms: 0, gen_tokens: last!.eval_count, prompt_tokens: last!.prompt_eval_count });
  });

  it('records the worker\'s phases for OpenAI chats, streamed and not', async () => {
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'sk-no-key', maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'hi' }], max_tokens: OPTIONS.num_predict, temperature: 0 });
    const whole = await latestRecord(h.url, '/v1/chat/completions');
    expectGenerationPhases(whole);
    expect(whole).toMatchObject({ stream: false, load_ms: 0, gen_tokens: reply.usage!.completion_tokens, prompt_tokens: reply.usage!.prompt_tokens });

    const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'hi again' }], max_tokens: OPTIONS.num_predict, temperature: 0, stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    const streamed = await latestRecord(h.url, '/v1/chat/completions');
    expect(streamed.id).not.toBe(whole.id);
    expectGenerationPhases(streamed);
    expect(streamed.stream).toBe(true);
  });
});
