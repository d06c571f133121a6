import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { testGateway } from '../support/gateway.js';
import { requestRecords } from '../support/records.js';
import { raw } from './raw-request.js';

/**
 * What a web page can make the gateway do (issue 12, section 1), against a real gateway
 * process on port 0 in front of the scripted Ollama daemon: a cross-site request or a
 * DNS-rebound one is refused before any work (no load, no daemon call); an allowed
 * origin's preflight is answered and its replies carry CORS headers.
 */
const CHAT = 'llama3.2:latest';
const chat = JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: 'hello' }], stream: false });

describe('browser rules, listening on 127.0.0.1', () => {
  let upstream: FakeOllama;
  let gw: RunningGateway;
  let url: string;

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: CHAT }] });
    await upstream.start();
    gw = await testGateway({
      backends: { ollama: { kind: 'ollama', url: upstream.url } },
      models: { [CHAT]: { backend: 'ollama', type: 'chat' } },
      server: { origins: ['https://chat.example.com'] },
    });
    url = `http://127.0.0.1:${gw.port}`;
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('refuses a cross-site text/plain POST (no preflight needed) with 403, and does no work', async () => {
    const before = upstream.requests.length;
    const evil = { origin: 'https://evil.example', 'content-type': 'text/plain' };
    for (const [path, body] of [
      [`/warmgate/models/${CHAT}/load`, ''],
      [`/warmgate/models/${CHAT}/unload`, ''],
      ['/api/generate', JSON.stringify({ model: CHAT })],
      ['/api/chat', chat],
      ['/api/pull', JSON.stringify({ model: 'tinyllama' })],
      ['/api/create', JSON.stringify({ model: 'x', from: CHAT })],
      ['/api/copy', JSON.stringify({ source: CHAT, destination: 'y' })],
      ['/v1/chat/completions', chat],
    ] as const) {
      const res = await raw(`${url}${path}`, { method: 'POST', headers: evil, body });
      expect(res.status, path).toBe(403);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    const del = await raw(`${url}/api/delete`, { method: 'DELETE', headers: evil, body: JSON.stringify({ model: CHAT }) });
    expect(del.status).toBe(403);
    expect(upstream.requests.length).toBe(before);
    expect(upstream.loads).toHaveLength(0);
    const status = await (await fetch(`${url}/warmgate/status`)).json() as { models: Array<{ name: string; state: string }> };
    expect(status.models.find((m) => m.name === CHAT)?.state ?? 'unloaded').toBe('unloaded');
    expect((await requestRecords(url)).filter((r) => r.route === '/api/chat' || r.route === '/v1/chat/completions')).toEqual([]);
  });

  it('refuses a DNS-rebound request (a foreign Host) with 403 in the caller\'s dialect', async () => {
    const before = upstream.requests.length;
    const tags = await raw(`${url}/api/tags`, { headers: { host: 'evil.example.com' } });
    expect(tags.status).toBe(403);
    expect(JSON.parse(tags.text).error).toMatch(/Host "evil\.example\.com"/);
    const models = await raw(`${url}/v1/models`, { headers: { host: `evil.example.com:${gw.port}` } });
    expect(models.status).toBe(403);
    expect(JSON.parse(models.text)).toMatchObject({ error: { code: 'WG_FORBIDDEN' } });
    const rebound = await raw(`${url}/api/chat`, { method: 'POST', headers: { host: `evil.example.com:${gw.port}`, origin: `http://evil.example.com:${gw.port}` }, body: chat });
    expect(rebound.status).toBe(403);
    expect(upstream.requests.length).toBe(before);
  });

  it('answers requests addressed to this machine by its local names', async () => {
    for (const host of [`localhost:${gw.port}`, `127.0.0.1:${gw.port}`, `[::1]:${gw.port}`, 'warmgate.localhost', 'host.docker.internal:11435']) {
      expect((await raw(`${url}/api/tags`, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('answers a preflight from http://localhost:3000 with 204 and the Access-Control headers', async () => {
    const res = await raw(`${url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(',');
    for (const h of ['authorization', 'content-type', 'x-stainless-os', 'x-api-key', 'openai-beta']) expect(allowed).toContain(h);
    expect(res.headers['access-control-max-age']).toBe('43200');
    expect(String(res.headers.vary)).toContain('Origin');
    const evil = await raw(`${url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.status).toBe(403);
  });

  it('gives an allowed origin its replies with Access-Control-Allow-Origin and Vary: Origin, streamed ones and errors too', async () => {
    const whole = await raw(`${url}/api/chat`, { method: 'POST', headers: { origin: 'http://localhost:3000', 'content-type': 'application/json' }, body: chat });
    expect(whole.status).toBe(200);
    expect(whole.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(whole.headers.vary).toBe('Origin');

    const streamed = await raw(`${url}/api/chat`, { method: 'POST', headers: { origin: 'https://chat.example.com' }, body: JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(streamed.status).toBe(200);
    expect(streamed.headers['content-type']).toContain('ndjson');
    expect(streamed.headers['access-control-allow-origin']).toBe('https://chat.example.com');
    expect(streamed.headers.vary).toBe('Origin');

    const sse = await raw(`${url}/v1/chat/completions`, { method: 'POST', headers: { origin: 'tauri://localhost' }, body: JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: 'hi' }], stream: true }) });
    expect(sse.status).toBe(200);
    expect(sse.headers['access-control-allow-origin']).toBe('tauri://localhost');

    const missing = await raw(`${url}/api/chat`, { method: 'POST', headers: { origin: 'http://127.0.0.1:5173' }, body: JSON.stringify({ model: 'no-such-model', messages: [] }) });
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe('http://127.0.0.1:5173');

    const plain = await raw(`${url}/api/tags`);
    expect(plain.status).toBe(200);
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('browser rules, listening on 0.0.0.0', () => {
  let upstream: FakeOllama;
  let gw: RunningGateway;

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: CHAT }] });
    await upstream.start();
    // Bound to every address, but this test only ever sends to 127.0.0.1.
    gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } } }, { listen: '0.0.0.0' });
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('answers any Host (the network reaches it by any name) but still refuses a foreign Origin', async () => {
    const url = `http://127.0.0.1:${gw.port}`;
    const tags = await raw(`${url}/api/tags`, { headers: { host: 'evil.example.com' } });
    expect(tags.status).toBe(200);
    expect(JSON.parse(tags.text).models.map((m: { name: string }) => m.name)).toContain(CHAT);
    expect((await raw(`${url}/api/tags`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
  });
});
