/**
 * A reload that removes a model while it serves: the stream in flight completes, requests
 * queued for it get a clean 503 in their own dialect, and the next one finds no such model.
 * The scripted Ollama holds each stream line until the test lets it through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { postJson, testGateway } from '../support/gateway.js';
import { gatewayStatus, until } from '../support/records.js';

const MODEL = 'llama3.2:latest';
const GONE = `model '${MODEL}' was removed from the configuration`;
let upstream: FakeOllama;
let gw: RunningGateway;
let config: ConfigInput;

beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: MODEL }, { name: 'other:latest' }] });
  await upstream.start();
  const backends = { o: { kind: 'ollama' as const, url: upstream.url, parallel: 1, discover: false } };
  config = { backends, models: { [MODEL]: { backend: 'o' }, 'other:latest': { backend: 'o' } } };
  gw = await testGateway(config, { reread: () => config });
});
afterAll(async () => {
  upstream.streamGate?.open();
  await gw?.close();
  await upstream?.close();
});

describe('a reload that removes a busy model', () => {
  it('lets its stream finish, refuses its queued requests in their dialect, and forgets it', async () => {
    const gate = new Turnstile();
    upstream.streamGate = gate;
    gate.allow(1);
    const live = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'a long story please' }] }) });
    const reader = live.body!.getReader();
    await reader.read(); // the first line: the model is serving
    const messages = [{ role: 'user', content: 'hi' }];
    const queuedOllama = postJson(`${gw.url}/api/chat`, { model: MODEL, messages, stream: false });
    const queuedOpenAI = postJson(`${gw.url}/v1/chat/completions`, { model: MODEL, messages });
    await until(() => gatewayStatus(gw.url), (s) => s.models.find((m) => m.name === MODEL)?.queued === 2);

    config = { ...config, models: { 'other:latest': { backend: 'o' } } };
    const report = await postJson(`${gw.url}/warmgate/reload`, {});
    expect(report).toMatchObject({ status: 200, body: { removed: [MODEL], kept: ['other:latest'] } });
    expect(await queuedOllama).toMatchObject({ status: 503, body: { error: GONE } });
    expect(await queuedOpenAI).toMatchObject({ status: 503, body: { error: { message: GONE } } });

    gate.open();
    let text = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect(JSON.parse(text.trim().split('\n').at(-1)!)).toMatchObject({ done: true });
    expect(await postJson(`${gw.url}/api/chat`, { model: MODEL, messages, stream: false })).toMatchObject({ status: 404, body: { error: `model '${MODEL}' not found` } });
    expect((await postJson(`${gw.url}/api/chat`, { model: 'other', messages, stream: false })).status).toBe(200);
    // Its unload went to the daemon once the stream ended; then the scheduler forgot it.
    await until(() => gatewayStatus(gw.url), (s) => !s.models.some((m) => m.name === MODEL));
  });
});
