import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { llamaGateway, llamaModels, requireLlamaServer } from '../contract/llama-rig.js';
import { postJson } from '../support/gateway.js';
import { EMB, startEngineGateway, type EngineHarness } from './engine-harness.js';

/**
 * Ollama's embedding `truncate` on the embedded worker (which, like llama-server, has none):
 * document ingestion sends chunks longer than the embedding model's context.
 */
const long = 'alpha beta gamma delta '.repeat(200); // far over 128 tokens

describe('embedding truncate on the embedded backend', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineGateway({ emb: { ctx: 128 } });
  });
  afterAll(() => h?.close());

  it('cuts an over-long input to the context by default (truncate true), as Ollama does, beside inputs that fit', async () => {
    const reply = await postJson(`${h.url}/api/embed`, { model: EMB, input: [long, 'short'] });
    expect(reply.status).toBe(200);
    expect(reply.body.embeddings).toHaveLength(2);
    expect(reply.body.prompt_eval_count).toBeLessThanOrEqual(2 * 128);
    const short = await postJson(`${h.url}/api/embed`, { model: EMB, input: 'short' });
    expect(short.body.embeddings[0]).toEqual(reply.body.embeddings[1]);
    const openai = await postJson(`${h.url}/v1/embeddings`, { model: EMB, input: long, encoding_format: 'float' });
    expect(openai.status).toBe(200);
  });

  it('answers 400 in the dialect with truncate: false', async () => {
    const reply = await postJson(`${h.url}/api/embed`, { model: EMB, input: long, truncate: false });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^input length exceeds maximum context length/);
  });
});

describe('embedding truncate on a llama-server backend', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    requireLlamaServer();
    const { models } = await llamaModels({ emb: { bytes: 8e6, type: 'embedding', seed: 5, ctx: 128 } });
    gw = (await llamaGateway(models, { ram: 1e12 })).gw;
  });
  afterAll(() => gw?.close());

  it('cuts an over-long input by default and refuses it with truncate: false', async () => {
    const cut = await postJson(`${gw.url}/api/embed`, { model: 'emb', input: [long, 'short'] });
    expect(cut.status).toBe(200);
    expect(cut.body.embeddings).toHaveLength(2);
    const refused = await postJson(`${gw.url}/api/embed`, { model: 'emb', input: long, truncate: false });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/^input length exceeds maximum context length/);
  });
});
