import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson } from '../support/gateway.js';
import { OllamaGateway, type OllamaGatewayOptions } from '../support/ollama-gateway.js';
import { serveProcess } from '../support/processes.js';
import { requestRecords } from '../support/records.js';

/** What real clients of Ollama rely on (issue 11, section 3), against the scripted daemon. */
const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

const chat = (url: string, model: string) => postJson(`${url}/api/chat`, { model, stream: false, messages: [{ role: 'user', content: 'hi' }] });

describe('Ollama fidelity', () => {
  const rig = new OllamaGateway();
  afterEach(() => rig.close());
  const start = (backend: OllamaGatewayOptions['backend'] = {}) => rig.start([{ name: CHAT }, { name: EMBED, kind: 'embedding' }], { backend });

  it('/api/embeddings with an empty prompt answers {"embedding": []}, as Ollama does', async () => {
    const { url } = await start();
    const reply = await postJson(`${url}/api/embeddings`, { model: EMBED, prompt: '' });
    expect(reply).toMatchObject({ status: 200, body: { embedding: [] } });
  });

  it('/v1 reasoning_effort reaches the daemon as think; none turns it off', async () => {
    const { daemon, url } = await start();
    for (const effort of ['high', 'none']) {
      expect((await postJson(`${url}/v1/chat/completions`, { model: CHAT, reasoning_effort: effort, messages: [{ role: 'user', content: 'x' }] })).status).toBe(200);
    }
    expect(daemon.requests.filter((r) => r.path === '/api/chat').map((r) => (r.body as { think?: unknown }).think)).toEqual(['high', false]);
    expect((await postJson(`${url}/v1/chat/completions`, { model: CHAT, reasoning_effort: 'max', messages: [{ role: 'user', content: 'x' }] })).status).toBe(400);
  });

  it('a pull, copy or delete through the gateway is in its catalog at once', async () => {
    const { url } = await start();
    expect((await chat(url, 'not-yet')).status).toBe(404); // the catalog was just read
    expect((await postJson(`${url}/api/pull`, { model: 'not-yet', stream: false })).status).toBe(200);
    expect((await chat(url, 'not-yet')).status).toBe(200);
    expect((await postJson(`${url}/api/copy`, { source: CHAT, destination: 'my-copy' })).status).toBe(200);
    expect((await chat(url, 'my-copy')).status).toBe(200);
    const deleted = await fetch(`${url}/api/delete`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'my-copy' }) });
    expect(deleted.status).toBe(200);
    expect(await chat(url, 'my-copy')).toMatchObject({ status: 404, body: { error: "model 'my-copy' not found" } });
  });

  it('a load the gateway did for the request is in its load_duration; queue_ms never counts it again', async () => {
    const { daemon, url } = await start();
    const held = daemon.holdLoads(CHAT);
    const pending = chat(url, CHAT);
    await held;
    daemon.releaseLoads(CHAT);
    const reply = await pending;
    expect(reply.status).toBe(200);
    const record = (await requestRecords(url)).find((r) => r.route === '/api/chat')!;
    expect(record.load_ms).toBeGreaterThan(0);
    expect(record.queue_ms + record.load_ms).toBeLessThanOrEqual(record.total_ms);
    expect(reply.headers.get('server-timing')).toContain(`queue;dur=${record.queue_ms}, load;dur=${record.load_ms}`);
    // Ollama's meaning: from the handler until a runner is there, in nanoseconds.
    expect(reply.body.load_duration).toBe(Math.round((record.queue_ms + record.load_ms) * 1e6));
    expect(reply.body.total_duration).toBeGreaterThanOrEqual(reply.body.load_duration);

    const embed = await postJson(`${url}/api/embed`, { model: EMBED, input: ['x'] });
    const embedRecord = (await requestRecords(url)).find((r) => r.route === '/api/embed')!;
    expect(embed.body.load_duration).toBe(Math.round((embedRecord.queue_ms + embedRecord.load_ms) * 1e6));
  });

  it('backends.X.headers reach the daemon on every call; a client\'s credentials never do', async () => {
    const { daemon, url } = await start({ headers: { Authorization: 'Bearer proxy-token', 'X-Proxy-Key': 'k1' } });
    const reply = await postJson(`${url}/api/chat`, { model: CHAT, stream: false, messages: [{ role: 'user', content: 'hi' }] }, {
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-secret', cookie: 'session=1' },
    });
    expect(reply.status).toBe(200);
    expect(daemon.requests.length).toBeGreaterThan(0);
    for (const r of daemon.requests) {
      expect(r.headers).toMatchObject({ authorization: 'Bearer proxy-token', 'x-proxy-key': 'k1' });
      expect(r.headers.cookie).toBeUndefined();
    }
  });
});

describe('an Ollama daemon down at start', () => {
  const rig = new OllamaGateway();
  afterEach(() => rig.close());

  it('answers 502 naming the backend (never 404 or an empty list) while it is down, and recovers on the next request once it answers', async () => {
    // Without a breaker: the registry's own recovery. With one, requests turn 503 once it opens and recover at its probe (host-health.test.ts).
    const { daemon, url, port } = await rig.start([{ name: CHAT }], { down: true, backend: { breaker: false } });

    const ollama = await chat(url, CHAT);
    expect(ollama.status).toBe(502);
    expect(ollama.body.error).toMatch(/^backend ollama at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    const openai = await postJson(`${url}/v1/chat/completions`, { model: CHAT, messages: [{ role: 'user', content: 'x' }] });
    expect(openai.status).toBe(502);
    expect(openai.body.error).toMatchObject({ message: expect.stringContaining('backend ollama'), code: 'WG_UPSTREAM_UNREACHABLE' });
    const tags = await fetch(`${url}/api/tags`);
    expect(tags.status).toBe(502);

    await daemon.start(port);
    expect((await chat(url, CHAT)).status).toBe(200);
    expect(await (await fetch(`${url}/api/tags`)).json()).toMatchObject({ models: [{ name: CHAT }] });
  });
});

it('the start banner names a daemon that is down, and its state', async () => {
  const daemon = new FakeOllama({ models: [] });
  const port = Number(new URL((await daemon.start()).url).port);
  await daemon.close();
  const dir = mkdtempSync(join(tmpdir(), 'wg-down-'));
  const config = join(dir, 'warmgate.yaml');
  writeFileSync(config, `backends:\n  ollama:\n    kind: ollama\n    url: http://127.0.0.1:${port}\ndata_dir: ${join(dir, 'data')}\n`);
  const lines: string[] = [];
  let sawState!: () => void;
  const state = new Promise<void>((resolve) => (sawState = resolve));
  const { child } = await serveProcess(config, {
    onLine: (line) => {
      lines.push(line);
      if (line.includes('ollama (ollama):')) sawState();
    },
  });
  try {
    await state;
    expect(lines.join('\n')).toMatch(/backends:\n\s+- ollama \(ollama\): UNREACHABLE, backend ollama at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});
