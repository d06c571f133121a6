/**
 * Backends whose streamed reply breaks without an error of their own. One that goes silent
 * (headers sent, then nothing) no longer holds the slot until the client gives up: past
 * server.upstream_idle_timeout_s the stream ends with an error line, and the record says
 * why (the scripted Ollama holds its second line for ever). One that ends cleanly before
 * its final piece does not look like a complete answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { testGateway } from '../support/gateway.js';

const MODEL = 'llama3.2:latest';
let upstream: FakeOllama;
let gw: RunningGateway;
beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: MODEL }] });
  await upstream.start();
  gw = await testGateway({ server: { upstream_idle_timeout_s: 0.3 }, backends: { o: { kind: 'ollama', url: upstream.url } }, models: { [MODEL]: { backend: 'o' } } });
});
afterAll(async () => {
  upstream.streamGate?.open();
  await gw?.close();
  await upstream?.close();
});

describe('a backend silent mid-stream', () => {
  it('ends the stream with an error line after upstream_idle_timeout_s', async () => {
    const gate = new Turnstile();
    upstream.streamGate = gate;
    gate.allow(1);
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'a long story please' }] }) });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ done: false });
    expect(lines.at(-1)).toEqual({ error: 'the backend went silent in the middle of its reply (server.upstream_idle_timeout_s)' });
    expect(gw.telemetry.recent().find((r) => r.route === '/api/chat')).toMatchObject({ error_code: 'WG_UPSTREAM_TIMEOUT' });
  });
});

describe('a backend that ends its stream before the final piece', () => {
  it('gives an OpenAI stream an error event, not a normal [DONE]', async () => {
    upstream.streamGate = undefined;
    upstream.endMidStream = 2;
    try {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'a long story please' }] }) });
      const text = await res.text();
      expect(text).not.toContain('data: [DONE]');
      expect(text).toMatch(/the backend ended its reply before its final piece/);
    } finally {
      upstream.endMidStream = undefined;
    }
  });
});
