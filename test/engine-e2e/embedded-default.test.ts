import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { readModelInfo } from '../../src/memory/gguf-info.js';
import { testGateway } from '../support/gateway.js';
import {  } from './engine-harness.js';
import { latestRecord } from '../support/records.js';

/**
 * The embedded default: a gateway started with no backends and no models generates
 * `warmgate-chat` and `warmgate-embed` into `<data_dir>/models` and serves them on the
 * embedded worker. The gateway is assembled from an empty working directory, so a
 * `./models` folder wherever the tests run plays no part.
 *
 * These models run with the worker's default thread count (the default config has none).
 */
describe('the embedded default, with nothing configured but data_dir', () => {
  let dataDir: string;
  let emptyCwd: string;
  let gw: RunningGateway;
  let ollama: Ollama;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'warmgate-default-data-'));
    emptyCwd = await mkdtemp(join(tmpdir(), 'warmgate-default-cwd-'));
    const cwd = process.cwd();
    process.chdir(emptyCwd);
    try {
      gw = await testGateway({ data_dir: dataDir });
    } finally {
      process.chdir(cwd);
    }
    ollama = new Ollama({ host: gw.url });
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([dataDir, emptyCwd].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('generates the two default models into <data_dir>/models and lists exactly those', async () => {
    expect((await readdir(join(dataDir, 'models'))).sort()).toEqual(['warmgate-chat.gguf', 'warmgate-embed.gguf']);
    expect(existsSync(join(dataDir, 'models', 'warmgate-chat.gguf.partial'))).toBe(false);
    const { models } = await ollama.list();
    // Tagged as Ollama lists its own; either spelling resolves.
    expect(models.map((m) => m.name).sort()).toEqual(['warmgate-chat:latest', 'warmgate-embed:latest']);
    const [chat, embed] = await Promise.all([ollama.show({ model: 'warmgate-chat:latest' }), ollama.show({ model: 'warmgate-embed' })]);
    expect(chat.capabilities).toEqual(['completion']);
    expect(embed.capabilities).toEqual(['embedding']);
  });

  it('answers /api/chat with generated text from warmgate-chat', async () => {
    const reply = await ollama.chat({ model: 'warmgate-chat', messages: [{ role: 'user', content: 'hello' }], stream: false, options: { num_predict: 8, temperature: 0 } });
    expect(reply.message.content.length).toBeGreaterThan(0);
    expect(reply.eval_count).toBeGreaterThan(0);
    expect(await latestRecord(gw.url, '/api/chat')).toMatchObject({ model: 'warmgate-chat', backend: 'embedded', status: 200 });
  });

  it('answers /api/embed with vectors as wide as warmgate-embed\'s GGUF says', async () => {
    const info = await readModelInfo(join(dataDir, 'models', 'warmgate-embed.gguf'));
    const reply = await ollama.embed({ model: 'warmgate-embed', input: ['one', 'two'] });
    expect(reply.embeddings).toHaveLength(2);
    for (const v of reply.embeddings) expect(v).toHaveLength(info.embeddingLength!);
  });

  it('answers /v1/chat/completions from warmgate-chat', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-no-key', maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: 'warmgate-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, temperature: 0 });
    expect(reply.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
  });
});
