/** Client mistakes that used to crash a handler (500) are 400s in the client's dialect. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';

let upstream: FakeOllama;
let gw: RunningGateway;
beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: 'llama3.2:latest' }, { name: 'nomic-embed-text:latest', kind: 'embedding' }] });
  await upstream.start();
  gw = await testGateway({ backends: { o: { kind: 'ollama', url: upstream.url, discover: true } } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('client mistakes', () => {
  for (const path of ['/api/show', '/api/pull', '/api/copy']) {
    it(`${path} with the body null is a 400 in Ollama's shape`, async () => {
      const res = await postJson(`${gw.url}${path}`, 'null');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'request body must be a JSON object, got null' });
    });
  }

  it('/api/embeddings with an object as input is a 400', async () => {
    const res = await postJson(`${gw.url}/api/embeddings`, { model: 'nomic-embed-text', input: { a: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^invalid request: input/);
  });

  it('/completion with an array as body is a 400 in the llama-server shape', async () => {
    const res = await postJson(`${gw.url}/completion`, '[1,2]');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('request body must be a JSON object, got an array');
  });

  it('/v1/chat/completions with max_tokens -1 is a 400, as OpenAI answers', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], max_tokens: -1 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error' });
    expect(res.body.error.message).toMatch(/max_tokens must be an integer of at least 1/);
  });
});

describe('what clients build from base URLs, and Ollama wording', () => {
  it('serves //api/chat, /api/chat/ and /v1/models/ as their canonical paths', async () => {
    for (const path of ['//api/chat', '/api/chat/']) {
      const res = await postJson(`${gw.url}${path}`, { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ done: true });
    }
    const models = await fetch(`${gw.url}/v1/models/`);
    expect(models.status).toBe(200);
    expect((await models.json()).object).toBe('list');
  });

  it('an unknown model is Ollama\'s "model \'x\' not found", and OpenAI\'s code model_not_found', async () => {
    const ollama = await postJson(`${gw.url}/api/chat`, { model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    expect(ollama).toMatchObject({ status: 404, body: { error: "model 'nope' not found" } });
    const openai = await postJson(`${gw.url}/v1/chat/completions`, { model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    expect(openai.status).toBe(404);
    expect(openai.body.error).toMatchObject({ message: "model 'nope' not found", code: 'model_not_found' });
  });

  it('a doubled slash cannot reach an admin route under a weaker scope', async () => {
    const keyed = await testGateway({ server: { api_keys: [{ key: 'inference-key-0123456789', scope: 'inference' }] }, backends: { o: { kind: 'ollama', url: upstream.url, discover: true } } });
    try {
      const res = await fetch(`${keyed.url}//warmgate//models/llama3.2/unload`, { method: 'POST', headers: { authorization: 'Bearer inference-key-0123456789' } });
      expect(res.status).toBe(403);
    } finally {
      await keyed.close();
    }
  });
});

describe('JSON nested 10,000 deep', () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  const chat = `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false,"x":${deep}}`;

  it('is a 400 in each dialect, on the passthrough routes too', async () => {
    const expected = 'request body is nested deeper than 512 levels';
    expect(await postJson(`${gw.url}/api/chat`, chat)).toMatchObject({ status: 400, body: { error: expected } });
    expect(await postJson(`${gw.url}/api/generate`, deep)).toMatchObject({ status: 400, body: { error: expected } });
    const openai = await postJson(`${gw.url}/v1/chat/completions`, chat);
    expect(openai).toMatchObject({ status: 400, body: { error: { message: expected, type: 'invalid_request_error' } } });
    const llama = await postJson(`${gw.url}/completion`, `{"model":"llama3.2","prompt":"hi","x":${deep}}`);
    expect(llama).toMatchObject({ status: 400, body: { error: { message: expected } } });
    // Nothing reached the daemon, and the gateway still answers.
    expect((await postJson(`${gw.url}/api/chat`, { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false })).status).toBe(200);
  });
});
