import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedModel } from '../support/cached-model.js';
import { startWorker, type RunningWorker } from '../../src/worker/spawn-worker.js';
import { defaultChatSpec } from '../../src/gguf/index.js';
import { postJson, testGateway } from '../support/gateway.js';
import type { RunningGateway } from '../../src/app/server.js';
import { gatewayStatus, until } from '../support/records.js';

/**
 * A llama-server Warmgate does not run (`url`): here the embedded worker started by hand,
 * which serves llama-server's API. The gateway routes to it but never loads or unloads it.
 */
describe('an external llama-server (url) in front of which the gateway cannot load or unload', () => {
  let server: RunningWorker;
  let gw: RunningGateway;
  let file: string;

  beforeAll(async () => {
    file = (await cachedModel(defaultChatSpec())).path;
    server = await startWorker({ model: file, ctx: 1024, threads: 1 });
    gw = await testGateway({
      backends: { ext: { kind: 'llama-server', url: server.url, breaker: { failures: 2, open_s: 0.05, max_open_s: 0.1 } } },
      models: { ext_chat: { backend: 'ext', file, type: 'chat' } },
    });
  });

  afterAll(async () => {
    await gw.close();
    await server.stop();
  });

  it('serves Ollama and native clients straight through, with no load in the ledger', async () => {
    const ollama = new Ollama({ host: gw.url });
    const reply = await ollama.chat({ model: 'ext_chat', messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 4, temperature: 0 } });
    expect(reply.done).toBe(true);
    expect(reply.eval_count).toBeGreaterThan(0);
    const native = await postJson(`${gw.url}/completion`, { model: 'ext_chat', prompt: 'hello', n_predict: 3 });
    expect(native.status).toBe(200);
    expect(native.body.stop).toBe(true);
    const tags = await ollama.list();
    expect(tags.models.map((m) => m.name)).toContain('ext_chat:latest');
    expect((await ollama.ps()).models.map((m) => m.name)).toContain('ext_chat:latest');
    const status = await gatewayStatus(gw.url);
    expect(status.counters.loads).toBe(0);
    expect(status.models).toEqual([]);
  });

  it('refuses to unload it, saying why', async () => {
    const res = await fetch(`${gw.url}/warmgate/models/ext_chat/unload`, { method: 'POST' });
    expect(res.status).toBe(501);
    expect((await res.json()).error).toContain('does not run');
  });

  it('is taken out when it stops answering, and back once its /health probe gets a reply', async () => {
    const { port } = server;
    await server.stop();
    const body = { model: 'ext_chat', prompt: 'hello', n_predict: 1 };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postJson(`${gw.url}/completion`, body)).status);
    expect(statuses).toEqual([502, 502, 503]);
    server = await startWorker({ model: file, ctx: 1024, threads: 1, port });
    const ext = async () => (await gatewayStatus(gw.url)).backends.find((b) => b.name === 'ext')!.breaker!;
    await until(ext, (b) => b.state === 'closed');
    expect((await postJson(`${gw.url}/completion`, body)).status).toBe(200);
    expect(await ext()).toEqual({ state: 'closed', failures: 0, opens: 1 });
  });
});
