import { Writable } from 'node:stream';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../src/app/server.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { raw } from './raw-request.js';

/**
 * API keys on a real gateway (port 0) in front of the scripted Ollama daemon: each scope
 * opens its routes, placeholders count as no key, the read-only pages stay open on
 * loopback, the real openai and ollama clients work with a key, and no key reaches the log
 * or the request records.
 */
const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';
const ADMIN = 'wg-admin-5f2c9d0e7a1b4c3d8e6f';
const INFER = 'wg-infer-0a1b2c3d4e5f60718293';
const WRONG = 'wg-wrong-99999999999999999999';

describe('API keys', () => {
  let upstream: FakeOllama;
  let gw: RunningGateway;
  let url: string;
  const logged: string[] = [];

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: CHAT }, { name: EMBED, kind: 'embedding', embeddingLength: 8 }] });
    await upstream.start();
    const config = validateConfig({
      server: { host: '127.0.0.1', port: 0, api_keys: [ADMIN, { key: INFER, scope: 'inference' }] },
      backends: { ollama: { kind: 'ollama', url: upstream.url } },
      models: { [CHAT]: { backend: 'ollama', type: 'chat' }, [EMBED]: { backend: 'ollama', type: 'embedding' } },
    }, 'test');
    // Everything the gateway logs, at the most verbose level, to look for keys in.
    const sink = new Writable({ write(chunk, _enc, done) { logged.push(String(chunk)); done(); } });
    gw = await startGateway(config, createLogger('trace', sink));
    url = `http://127.0.0.1:${gw.port}`;
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const chatBody = JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: 'hello' }], stream: false });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

  it('no key, a placeholder or a wrong key: 401 with WWW-Authenticate: Bearer, and nothing reaches the daemon', async () => {
    const before = upstream.requests.length;
    for (const headers of [{} as Record<string, string>, bearer('null'), { authorization: 'Bearer ' }, bearer('sk-no-key'), bearer(WRONG), { 'x-api-key': WRONG }]) {
      const res = await raw(`${url}/api/chat`, { method: 'POST', headers, body: chatBody });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(JSON.parse(res.text).error).toEqual(expect.any(String));
    }
    const openai = await raw(`${url}/v1/chat/completions`, { method: 'POST', headers: bearer('null'), body: chatBody });
    expect(openai.status).toBe(401);
    expect(JSON.parse(openai.text)).toMatchObject({ error: { type: 'authentication_error', code: 'WG_UNAUTHORIZED' } });
    expect((await raw(`${url}/warmgate/models/${CHAT}/unload`, { method: 'POST' })).status).toBe(401);
    expect(upstream.requests.length).toBe(before);
  });

  it('an inference key can chat but not unload (403); an admin key can do both', async () => {
    const asInference = await raw(`${url}/api/chat`, { method: 'POST', headers: bearer(INFER), body: chatBody });
    expect(asInference.status).toBe(200);
    expect(JSON.parse(asInference.text).message.content).toContain('hello');
    expect((await raw(`${url}/api/tags`, { headers: { 'x-api-key': INFER } })).status).toBe(200);

    const refused = await raw(`${url}/warmgate/models/${CHAT}/unload`, { method: 'POST', headers: bearer(INFER) });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error).toMatch(/needs an admin key/);
    expect(upstream.unloads).toEqual([]);
    const pull = await raw(`${url}/api/pull`, { method: 'POST', headers: bearer(INFER), body: JSON.stringify({ model: 'tinyllama' }) });
    expect(pull.status).toBe(403);
    expect(upstream.requests.some((r) => r.path === '/api/pull')).toBe(false);

    expect((await raw(`${url}/api/chat`, { method: 'POST', headers: bearer(ADMIN), body: chatBody })).status).toBe(200);
    const unload = await raw(`${url}/warmgate/models/${CHAT}/unload`, { method: 'POST', headers: { 'x-api-key': ADMIN } });
    expect(unload.status).toBe(200);
    expect(upstream.unloads).toContain(CHAT);
  });

  it('leaves liveness open, and the read-only pages open to a loopback peer', async () => {
    expect((await raw(`${url}/`)).status).toBe(200);
    expect((await raw(`${url}/`, { method: 'HEAD' })).status).toBe(200);
    expect((await raw(`${url}/health`)).status).toBe(200);
    expect((await raw(`${url}/warmgate/health`)).status).not.toBe(401);
    expect((await raw(`${url}/metrics`)).status).toBe(200);
    for (const page of ['/warmgate', '/warmgate/status', '/warmgate/requests']) expect((await raw(`${url}${page}`)).status, page).toBe(200);
  });

  it('the real openai SDK works with a key and throws AuthenticationError without one', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: INFER, maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'hello there' }] });
    expect(reply.choices[0].message.content).toContain('hello there');
    const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'stream it' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('stream it');
    const embedded = await client.embeddings.create({ model: EMBED, input: 'vector me', encoding_format: 'float' });
    expect(embedded.data[0].embedding).toHaveLength(8);
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain(CHAT);

    const keyless = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-no-key', maxRetries: 0 });
    await expect(keyless.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('the real ollama client works with the key in its headers (as AnythingLLM sends it) and fails with 401 without', async () => {
    const ollama = new Ollama({ host: url, headers: { Authorization: `Bearer ${INFER}` } });
    const reply = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'hello there' }], stream: false });
    expect(reply.message.content).toContain('hello there');
    const parts: string[] = [];
    for await (const part of await ollama.generate({ model: CHAT, prompt: 'stream me', stream: true })) parts.push(part.response ?? '');
    expect(parts.join('')).toContain('stream me');
    expect((await ollama.embed({ model: EMBED, input: ['a', 'b'] })).embeddings).toHaveLength(2);
    expect((await ollama.list()).models.map((m) => m.name)).toContain(CHAT);

    await expect(new Ollama({ host: url }).list()).rejects.toMatchObject({ status_code: 401 });
  });

  it('no key reaches the log, the request records or the status page', async () => {
    const records = await (await fetch(`${url}/warmgate/requests`)).text();
    const status = await (await fetch(`${url}/warmgate/status`)).text();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(logged.length).toBeGreaterThan(0);
    for (const key of [ADMIN, INFER, WRONG]) {
      for (const [where, text] of [['log', logged.join('')], ['records', records], ['status', status], ['metrics', metrics]]) {
        expect(text.includes(key), `${where} holds a key`).toBe(false);
      }
    }
  });
});
