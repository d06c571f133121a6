import { afterEach, describe, expect, it } from 'vitest';
import { ask, ollamaClient, Tally } from '../../bench/support/anythingllm-client.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../bench/support/round-robin-proxy.js';
import { ScriptedDaemons } from '../support/scripted-daemons.js';

/** The hosts bench's instruments: what it counts as lost or clean must be what happened. */

const GB = 1e9;
const models = [{ name: 'emb', kind: 'embedding' as const, size: 0.3 * GB }, { name: 'chat', size: 2 * GB }];
const question = { embedder: 'emb', chat: 'chat', text: 'what is in the handbook?' };

let daemons: ScriptedDaemons | undefined;
let proxy: RoundRobinProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await daemons?.close();
  proxy = daemons = undefined;
});

async function twoHosts(): Promise<ScriptedDaemons> {
  daemons = await ScriptedDaemons.start({ a: { vram: 8 * GB, models }, b: { vram: 8 * GB, models } });
  return daemons;
}

describe('scripted daemons', () => {
  it('a killed host refuses; restarted, it has its old port and nothing loaded; counts cover both lives', async () => {
    const d = await twoHosts();
    const url = d.url('a');
    const tally = new Tally();
    expect(await ask(url, ollamaClient(url, 5000), question, tally, 5000)).toBeGreaterThan(0);
    expect(d.counts().a).toEqual({ loads: 2, unloads: 0 });
    await d.kill('a');
    await expect(fetch(url)).rejects.toThrow();
    await d.restart('a');
    expect(d.url('a')).toBe(url);
    expect(d.daemon('a').resident()).toEqual([]);
    await ask(url, ollamaClient(url, 5000), question, tally, 5000);
    expect(d.counts()).toEqual({ a: { loads: 4, unloads: 0 }, b: { loads: 0, unloads: 0 } });
    // GET /, embed, tags, show x2, chat: twice.
    expect(tally.outcomes).toEqual({ ok: 12, error: 0, cut: 0, lost: 0 });
  });
});

describe('AnythingLLM client outcomes', () => {
  it('an error status is a clean error; a stream ended by an error line is cut; one closed mid-body is lost', async () => {
    const d = await twoHosts();
    const url = d.url('a');
    const tally = new Tally();
    const client = ollamaClient(url, 5000);
    expect(await ask(url, client, { ...question, chat: 'nope' }, tally, 5000)).toBeUndefined();
    expect(tally.outcomes).toMatchObject({ error: 1, cut: 0, lost: 0 });
    d.daemon('a').errorMidStream = { afterChunks: 1, message: 'model runner has unexpectedly stopped' };
    await ask(url, client, question, tally, 5000);
    expect(tally.outcomes).toMatchObject({ error: 1, cut: 1, lost: 0 });
    d.daemon('a').errorMidStream = undefined;
    d.daemon('a').crashMidStream = 1;
    await ask(url, client, question, tally, 5000);
    expect(tally.outcomes).toMatchObject({ error: 1, cut: 1, lost: 1 });
    await d.kill('a');
    expect(await ask(url, client, question, tally, 5000)).toBeUndefined();
    expect(tally.outcomes).toMatchObject({ error: 1, cut: 1, lost: 2 });
    expect(Object.keys(tally.messages)).toEqual([
      'error: model "nope" not found, try pulling it first', 'cut: model runner has unexpectedly stopped', 'lost: terminated', 'lost: fetch failed',
    ]);
  });
});

describe('round-robin proxy (nginx defaults)', () => {
  it('sends each request to the next daemon in turn, whatever the model', async () => {
    const d = await twoHosts();
    proxy = await startRoundRobinProxy([d.url('a'), d.url('b')]);
    await ask(proxy.url, ollamaClient(proxy.url, 5000), question, new Tally(), 5000);
    // GET /, embed, tags, show, show, chat: a b a b a b.
    expect(d.daemon('a').requests.map((r) => r.path)).toEqual(['/', '/api/tags', '/api/show']);
    expect(d.daemon('b').requests.map((r) => r.path)).toEqual(['/api/embed', '/api/show', '/api/chat']);
  });

  it('a GET that cannot reach its daemon goes to the next; a POST gets 502 in Ollama\'s dialect; the dead one is skipped after', async () => {
    const d = await twoHosts();
    proxy = await startRoundRobinProxy([d.url('a'), d.url('b')]);
    await d.kill('a');
    const tags = await fetch(`${proxy.url}/api/tags`);
    expect(tags.status).toBe(200);
    await tags.arrayBuffer();
    // The turn is a's again, but a failed: skipped.
    const show = await fetch(`${proxy.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'chat' }) });
    expect(show.status).toBe(200);
    await show.arrayBuffer();
    expect(d.daemon('b').requests.map((r) => r.path)).toEqual(['/api/tags', '/api/show']);
  });

  it('a POST whose daemon is unreachable gets a 502; a stream the daemon cuts is cut for the client', async () => {
    const d = await twoHosts();
    proxy = await startRoundRobinProxy([d.url('a'), d.url('b')]);
    const tally = new Tally();
    const client = ollamaClient(proxy.url, 5000);
    d.daemon('b').resetRequests = true;
    // a: GET /; b: embed, reset before any reply.
    expect(await ask(proxy.url, client, question, tally, 5000)).toBeUndefined();
    expect(tally.outcomes).toEqual({ ok: 1, error: 1, cut: 0, lost: 0 });
    expect(Object.keys(tally.messages)[0]).toMatch(/^error: bad gateway/);
    d.daemon('b').resetRequests = false;
    d.daemon('a').crashMidStream = 1;
    d.daemon('b').crashMidStream = 1;
    // b is skipped for 10 s: everything goes to a, whose stream is cut.
    await ask(proxy.url, client, question, tally, 5000);
    expect(tally.outcomes).toEqual({ ok: 6, error: 1, cut: 0, lost: 1 });
  });
});
