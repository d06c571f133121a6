/**
 * Stopping drains: a stream in flight finishes; one still running at the drain deadline ends
 * with an error line in its dialect (recorded with that error, not cut mid-chunk or recorded 499); a
 * request queued for the model gets 503 with Retry-After at once. The scripted Ollama holds
 * each stream line until the test lets it through, so nothing depends on timing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { testGateway } from '../support/gateway.js';
import { serveProcess } from '../support/processes.js';
import { gatewayStatus, until } from '../support/records.js';

const MODEL = 'llama3.2:latest';
let upstream: FakeOllama;
let gw: RunningGateway;

async function start(): Promise<Turnstile> {
  upstream = new FakeOllama({ models: [{ name: MODEL }] });
  await upstream.start();
  const gate = new Turnstile();
  upstream.streamGate = gate;
  // One request at a time, so a second one queues in the gateway.
  gw = await testGateway({ backends: { o: { kind: 'ollama', url: upstream.url, parallel: 1 } }, models: { [MODEL]: { backend: 'o' } } });
  return gate;
}

afterEach(async () => {
  upstream?.streamGate?.open();
  await upstream?.close();
});

/** A streamed /api/chat whose lines the test reads as they come. */
async function chat(): Promise<{ status: number; lines: () => AsyncGenerator<Record<string, unknown>> }> {
  const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'tell me a long story please' }] }) });
  const reader = res.body!.getReader();
  return {
    status: res.status,
    lines: async function* () {
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
          yield JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
          text = text.slice(nl + 1);
        }
      }
    },
  };
}

describe('stopping the gateway', () => {
  it('lets a stream in flight finish, and answers a queued request 503 with Retry-After at once', async () => {
    const gate = await start();
    gate.allow(1);
    const live = await chat();
    const lines = live.lines();
    expect((await lines.next()).value).toMatchObject({ done: false });
    const queued = fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false }) });
    await until(() => gatewayStatus(gw.url), (s) => s.models.find((m) => m.name === MODEL)?.queued === 1);

    const closing = gw.close({ drainMs: 60_000 });
    const refused = await queued;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({ error: 'the gateway is shutting down' });

    gate.open();
    let last: Record<string, unknown> | undefined;
    for await (const line of lines) last = line;
    expect(last).toMatchObject({ done: true, done_reason: 'stop' });
    await closing;
    const statuses = gw.telemetry.recent().filter((r) => r.route === '/api/chat').map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503]);
  });

  it('ends a stream still running at the deadline with an error line, recorded with that error', async () => {
    const gate = await start();
    gate.allow(1);
    const live = await chat();
    const lines = live.lines();
    expect((await lines.next()).value).toMatchObject({ done: false });

    const closing = gw.close({ drainMs: 100 });
    const rest: Array<Record<string, unknown>> = [];
    for await (const line of lines) rest.push(line);
    expect(rest.at(-1)).toEqual({ error: 'the gateway is shutting down' });
    await closing;
    // The 200 had gone out: the record keeps it and says how the stream ended (not 499: the client stayed).
    expect(gw.telemetry.recent().find((r) => r.route === '/api/chat')).toMatchObject({ status: 200, error_code: 'WG_UNAVAILABLE', error: 'the gateway is shutting down' });
  });
});

describe('SIGTERM', () => {
  it('a gateway process lets its live stream complete, then exits 0', async () => {
    const gate = new Turnstile();
    upstream = new FakeOllama({ models: [{ name: MODEL }] });
    await upstream.start();
    upstream.streamGate = gate;
    const dir = await mkdtemp(join(tmpdir(), 'warmgate-sigterm-'));
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ data_dir: dir, log: { level: 'silent' }, backends: { o: { kind: 'ollama', url: upstream.url } }, models: { [MODEL]: { backend: 'o' } } }));
    let stopping!: () => void;
    const stopped = new Promise<void>((resolve) => (stopping = resolve));
    const { child, url } = await serveProcess(config, { onLine: (line) => line.startsWith('warmgate: shutting down') && stopping() });
    try {
      gw = { url } as RunningGateway; // chat() only needs the URL
      gate.allow(1);
      const lines = (await chat()).lines();
      expect((await lines.next()).value).toMatchObject({ done: false });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      await stopped; // the gateway is draining: only now may the rest of the stream come
      gate.open();
      let last: Record<string, unknown> | undefined;
      for await (const line of lines) last = line;
      expect(last).toMatchObject({ done: true });
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
