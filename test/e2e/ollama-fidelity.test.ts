import { afterEach, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import type { RunningGateway } from '../../src/app/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** What real clients of Ollama rely on (issue 11, section 3), against the scripted daemon. */
const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

describe('Ollama fidelity', () => {
  let upstream: FakeOllama | undefined;
  let gateway: RunningGateway | undefined;

  afterEach(async () => {
    await gateway?.close();
    await upstream?.close();
    gateway = upstream = undefined;
  });

  async function start(backend: Partial<Extract<NonNullable<ConfigInput['backends']>[string], { kind: 'ollama' }>> = {}): Promise<{ daemon: FakeOllama; url: string }> {
    upstream = new FakeOllama({ models: [{ name: CHAT }, { name: EMBED, kind: 'embedding' }] });
    await upstream.start();
    gateway = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url, ...backend } } });
    return { daemon: upstream, url: gateway.url };
  }

  const chat = (url: string, model: string) => postJson(`${url}/api/chat`, { model, stream: false, messages: [{ role: 'user', content: 'hi' }] });

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
