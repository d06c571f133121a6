/**
 * The worker's HTTP behaviour that needs no model: the loading gate, and the argument and
 * sampling mappings the routes rely on.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createWorkerApp } from './app.js';
import { parseWorkerArgs, toWorkerArgv } from './cli-args.js';
import { toGenerationParams } from './sampling.js';

const silent = pino({ level: 'silent' });
const loadingBody = { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } };

describe('worker app while the model loads', () => {
  const app = createWorkerApp(() => undefined, silent);

  it.each(['/health', '/props', '/v1/models'])('GET %s answers 503 Loading model', async (path) => {
    const res = await app.request(path);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual(loadingBody);
  });

  it('refuses generation with the same 503', async () => {
    const res = await app.request('/completion', { method: 'POST', body: '{"prompt":"hi"}' });
    expect(res.status).toBe(503);
  });
});

describe('worker command line', () => {
  it('applies llama-server defaults and makes the model path absolute', () => {
    const config = parseWorkerArgs(['--model', 'm.gguf']);
    expect(config).toMatchObject({ host: '127.0.0.1', port: 0, ctx: 4096, parallel: 1, gpuLayers: 'auto', embedding: false, mmap: true, exitWithStdin: false });
    expect(config.model).toMatch(/^\/.*m\.gguf$/);
  });

  it('round-trips through toWorkerArgv', () => {
    const input = { model: '/m.gguf', alias: 'm', port: 8080, ctx: 2048, parallel: 2, gpuLayers: 12, embedding: true, threads: 1, mmap: false, exitWithStdin: true };
    expect(parseWorkerArgs(toWorkerArgv(input))).toEqual({ ...input, host: '127.0.0.1' });
  });

  it('accepts llama-server spellings (--embeddings, -c, -m)', () => {
    expect(parseWorkerArgs(['-m', '/m.gguf', '-c', '512', '--embeddings'])).toMatchObject({ ctx: 512, embedding: true });
  });

  it('names every bad flag', () => {
    expect(() => parseWorkerArgs(['--model', 'm.gguf', '--parallel', '0', '--gpu-layers', 'lots'])).toThrow(/--parallel.*--gpuLayers/);
    expect(() => parseWorkerArgs([])).toThrow(/--model/);
    expect(() => parseWorkerArgs(['--model', 'm', '--frobnicate'])).toThrow();
  });
});

describe('sampling', () => {
  it('draws a seed per request unless one is given (node-llama-cpp\'s default follows the clock\'s second)', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => toGenerationParams({}, 16, 512).seed));
    expect(seeds.size).toBeGreaterThan(1);
    expect(toGenerationParams({ seed: 0 }, 16, 512).seed).toBe(0);
  });

  it('uses llama-server defaults, with no repeat penalty', () => {
    expect(toGenerationParams({}, undefined, 512)).toEqual({
      maxTokens: 512, temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed: expect.any(Number),
      repeatPenalty: false, stop: [], ignoreEos: false,
    });
  });

  it('maps penalties, stop words, seeds and token limits', () => {
    const p = toGenerationParams({ repeat_penalty: 1.1, repeat_last_n: -1, presence_penalty: 0.5, stop: 'END', seed: 7 }, 16, 512);
    expect(p).toMatchObject({
      maxTokens: 16, seed: 7, stop: ['END'],
      repeatPenalty: { lastTokens: 512, penalty: 1.1, presencePenalty: 0.5, frequencyPenalty: 0 },
    });
    expect(toGenerationParams({ seed: -1 }, -1, 512)).toMatchObject({ seed: expect.any(Number), maxTokens: 512 });
    expect(toGenerationParams({}, -2, 512).maxTokens).toBe(512);
    expect(toGenerationParams({}, 100_000, 512).maxTokens).toBe(512);
  });
});
