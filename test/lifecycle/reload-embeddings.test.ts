/**
 * The embedding cache and a reload: a model whose load a reload changes (here, the model it
 * names at the daemon) never answers from the vectors of the model it replaced, and going
 * back to the first settings finds that model's vectors again (the cache keys on the load's
 * identity, not on a per-process counter, so replicas sharing Redis agree too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { latestRecord } from '../support/records.js';

let upstream: FakeOllama;
let gw: RunningGateway;
let config: ConfigInput;

const withUpstream = (name: string): ConfigInput => ({
  backends: { o: { kind: 'ollama' as const, url: upstream.url, discover: false } },
  models: { emb: { backend: 'o', upstream: name, type: 'embedding' } },
});

beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: 'nomic-embed-text:latest', kind: 'embedding' }, { name: 'mxbai-embed-large:latest', kind: 'embedding' }] });
  await upstream.start();
  config = withUpstream('nomic-embed-text:latest');
  gw = await testGateway(config, { reread: () => config });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

/** Embedding calls with inputs (a load's preload sends none). */
const embedCalls = () => upstream.requests.filter((r) => r.path === '/api/embed' && ((r.body as { input?: unknown[] }).input ?? []).length > 0).length;

async function embed(): Promise<{ cacheHit: boolean }> {
  const res = await postJson(`${gw.url}/api/embed`, { model: 'emb', input: 'the same text' });
  expect(res.status).toBe(200);
  return { cacheHit: (await latestRecord(gw.url, '/api/embed')).cache_hit === true };
}

describe('the embedding cache across a reload that changes the model', () => {
  it('never serves the replaced model its vectors, and finds them again under the first settings', async () => {
    expect(await embed()).toEqual({ cacheHit: false });
    expect(await embed()).toEqual({ cacheHit: true });
    const calls = embedCalls();

    config = withUpstream('mxbai-embed-large:latest');
    expect(await postJson(`${gw.url}/warmgate/reload`, {})).toMatchObject({ status: 200, body: { changed: ['emb'] } });
    expect(await embed()).toEqual({ cacheHit: false });
    expect(embedCalls()).toBe(calls + 1);

    config = withUpstream('nomic-embed-text:latest');
    expect(await postJson(`${gw.url}/warmgate/reload`, {})).toMatchObject({ status: 200, body: { changed: ['emb'] } });
    expect(await embed()).toEqual({ cacheHit: true });
    expect(embedCalls()).toBe(calls + 1);
  });
});
