/**
 * Host health: a daemon that stops answering is taken out by its circuit breaker after N
 * failures to reach it; requests then fail at once (503 + Retry-After, in their dialect)
 * without reaching it, a probe brings it back when it answers again, and a stream that is
 * still flowing is never cut by the breaker. One that its daemon cuts ends with an error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { postJson, testGateway } from '../support/gateway.js';
import { OllamaGateway } from '../support/ollama-gateway.js';
import { gatewayStatus, latestRecord, until } from '../support/records.js';

const MODEL = 'llama3.2:latest';
const chat = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false };
const pair = new OllamaGateway();
afterEach(() => pair.close());

const breakerOf = async (url: string) => (await gatewayStatus(url)).backends.find((b) => b.name === 'ollama')!.breaker!;

describe('a daemon that resets every connection', () => {
  it('is taken out after 3 failures: later requests fail fast in their dialect and never reach it', async () => {
    const { daemon, url } = await pair.start([{ name: MODEL }], { backend: { breaker: { failures: 3, open_s: 3600 } } });
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(200); // resident and healthy
    daemon.resetRequests = true;
    const failures = [];
    for (let i = 0; i < 3; i++) failures.push(await postJson(`${url}/api/chat`, chat));
    expect(failures.map((r) => r.status)).toEqual([502, 502, 502]);
    expect(await breakerOf(url)).toMatchObject({ state: 'open', failures: 3, opens: 1 });

    const reached = daemon.requests.length;
    const ollama = await postJson(`${url}/api/chat`, chat);
    const openai = await postJson(`${url}/v1/chat/completions`, chat);
    const embed = await postJson(`${url}/api/embed`, { model: MODEL, input: 'x' });
    const message = /^backend ollama is down: its circuit breaker is open after 3 failed connection attempts; the next probe is in \d+s$/;
    expect(ollama).toMatchObject({ status: 503, body: { error: expect.stringMatching(message) } });
    expect(openai).toMatchObject({ status: 503, body: { error: { message: expect.stringMatching(message), type: expect.any(String) } } });
    expect(embed.status).toBe(503);
    expect(Number(ollama.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect(daemon.requests.length).toBe(reached); // failed fast: nothing reached the daemon, nothing waited for it

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('warmgate_backend_up{backend="ollama"} 0');
    expect(metrics).toContain('warmgate_backend_breaker_opens_total{backend="ollama"} 1');
  });
});

describe('a daemon killed, then back', () => {
  it('fails fast while down; the probe closes the breaker once it answers, and requests flow again', async () => {
    const { daemon, url, port } = await pair.start([{ name: MODEL }], { backend: { breaker: { failures: 2, open_s: 0.02, max_open_s: 0.05 } } });
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(200);
    await daemon.close();
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push((await postJson(`${url}/api/chat`, chat)).status === 503 ? 'down' : 'unreachable');
    expect(codes).toEqual(['unreachable', 'unreachable', 'down', 'down']);
    // Probes fail while it is down: the breaker opens again, with a longer back-off, as the same outage.
    await until(() => breakerOf(url), (b) => b.state === 'open' && b.nextProbeInMs !== undefined && b.failures === 2);
    expect((await breakerOf(url)).opens).toBe(1);

    await daemon.start(port);
    await until(() => breakerOf(url), (b) => b.state === 'closed');
    expect(daemon.requests.map((r) => r.path)).toContain('/api/version'); // the probe
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(200);
    expect(await breakerOf(url)).toEqual({ state: 'closed', failures: 0, opens: 1 });
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('warmgate_backend_up{backend="ollama"} 1');
  });
});

describe('a daemon down at start', () => {
  it("its catalog's failures open the breaker too: a name then gets the breaker's 503, and the probe brings its models back", async () => {
    const { daemon, url, port } = await pair.start([{ name: MODEL }], { down: true, backend: { breaker: { failures: 2, open_s: 0.02, max_open_s: 0.05 } } });
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(502); // the catalog read: unreachable
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(502); // the second: the breaker opens
    const refused = await postJson(`${url}/api/chat`, chat);
    expect(refused).toMatchObject({ status: 503, body: { error: expect.stringMatching(/^backend ollama is down: its circuit breaker is (open|half-open)/) } });
    expect((await fetch(`${url}/api/tags`)).status).toBe(503);
    await daemon.start(port);
    await until(() => breakerOf(url), (b) => b.state === 'closed');
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(200);
    expect(await (await fetch(`${url}/api/tags`)).json()).toMatchObject({ models: [{ name: MODEL }] });
  });
});

describe('a remote Warmgate host (a front in front of it) that stops', () => {
  const parts: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const part of parts.splice(0).reverse()) await part.close();
  });

  it('is taken out by the front after its failures, and the front says which host is down', async () => {
    const daemon = new FakeOllama({ models: [{ name: MODEL }] });
    await daemon.start();
    parts.push(daemon);
    const back: RunningGateway = await testGateway({ backends: { ollama: { kind: 'ollama', url: daemon.url } } });
    const front: RunningGateway = await testGateway({ backends: { remote: { kind: 'warmgate', url: back.url, breaker: { failures: 2, open_s: 3600 } } } });
    parts.push({ close: () => front.close({ drainMs: 0 }) });
    expect((await postJson(`${front.url}/api/chat`, chat)).status).toBe(200);
    await back.close({ drainMs: 0 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await postJson(`${front.url}/api/chat`, chat));
    expect(statuses.map((r) => r.status)).toEqual([502, 502, 503]);
    expect(statuses[2].body.error).toMatch(/^backend remote is down: its circuit breaker is open after 2 failed connection attempts/);
    expect((await gatewayStatus(front.url)).backends).toEqual([{ name: 'remote', kind: 'warmgate', breaker: expect.objectContaining({ state: 'open', opens: 1 }) }]);
  });
});

describe('breaker: false', () => {
  it('keeps reaching the daemon however often it fails, and shows no breaker', async () => {
    const { daemon, url } = await pair.start([{ name: MODEL }], { backend: { breaker: false } });
    expect((await postJson(`${url}/api/chat`, chat)).status).toBe(200);
    daemon.resetRequests = true;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await postJson(`${url}/api/chat`, chat)).status);
    expect(statuses).toEqual([502, 502, 502, 502, 502]);
    expect((await gatewayStatus(url)).backends).toEqual([{ name: 'ollama', kind: 'ollama', breaker: null }]);
    expect(await (await fetch(`${url}/metrics`)).text()).not.toContain('warmgate_backend_up{');
  });
});

describe('streams and the breaker', () => {
  it('a stream still flowing is not cut when the breaker opens: it ends with its final line', async () => {
    const { daemon, url } = await pair.start([{ name: MODEL }], { backend: { breaker: { failures: 2, open_s: 3600 } } });
    const gate = new Turnstile();
    daemon.streamGate = gate;
    gate.allow(1);
    const live = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ ...chat, stream: true }) });
    expect(live.status).toBe(200);
    daemon.resetRequests = true;
    daemon.streamGate = undefined;
    await postJson(`${url}/api/chat`, chat);
    await postJson(`${url}/api/chat`, chat);
    expect((await breakerOf(url)).state).toBe('open');
    gate.open();
    const lines = (await live.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ done: true });
  });

  it.each([
    // Translated: the backend's own generation reads the reply.
    ['/v1/chat/completions', /^data: \{"error":\{"message":"Ollama backend ollama closed the connection in the middle of the reply for llama3\.2:latest/m],
    // Passed through: the route reads the daemon's lines, and the backend names the failure.
    ['/api/chat', /^\{"error":"Ollama backend ollama closed the connection in the middle of the reply for llama3\.2:latest/m],
  ])('a stream on a daemon killed mid-reply ends with an error line in its dialect (%s), and the model is no longer counted resident', async (path, errorLine) => {
    const { daemon, url } = await pair.start([{ name: MODEL }], { backend: { breaker: { failures: 2, open_s: 3600 } } });
    const gate = new Turnstile();
    daemon.streamGate = gate;
    gate.allow(1);
    const live = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify({ ...chat, stream: true }) });
    expect(live.status).toBe(200);
    const reader = live.body!.getReader();
    await reader.read(); // the first piece arrived: the stream is live
    await daemon.close();
    let text = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect(text).toMatch(errorLine);
    expect(text).not.toMatch(/data: \[DONE\]|"done":true/);
    expect(await latestRecord(url, path)).toMatchObject({ status: 200, error_code: 'WG_BACKEND_CRASHED' });
    expect((await gatewayStatus(url)).models.find((m) => m.name === MODEL)).toMatchObject({ state: 'unloaded' });
  });
});
