import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';
import type { ModelRegistration } from './types.js';

/**
 * Memory domains: models of another runtime (an Ollama daemon) charge that runtime's own
 * pools, never the gateway host's; a capacity nobody knows is unbounded; conflicts learned
 * from the runtime's evictions make the scheduler evict and group instead.
 */

/** A model of the daemon `ollama`: the whole of it on the daemon's GPU, as Ollama places a model that fits. */
function daemonModel(name: string, gib: number, extra: Partial<ModelRegistration> = {}): ModelRegistration {
  const memory = { totalBytes: gib * GiB, ramPool: 'ollama:ram', gpu: { pool: 'ollama:gpu', layers: 1, offloadableBytes: gib * GiB, overheadBytes: 0 } };
  return { ...cpuModel(name, gib, extra), memory, gpuLayers: 1 };
}

const unknownDaemon = { 'ollama:ram': Infinity, 'ollama:gpu': Infinity };

describe('memory domains', () => {
  it("charges a daemon's model to the daemon's pools, never the gateway host's RAM", () => {
    const { s, fx } = harness({ models: [daemonModel('big', 20), cpuModel('local', 1)], budgets: { ram: 2 * GiB, ...unknownDaemon } });
    s.request({ id: 'b1', model: 'big' });
    expect(fx.take()).toEqual(['startLoad big gpuLayers=1']);
    s.loadDone('big', { measuredBytes: { ram: 1 * GiB, gpu: 19 * GiB } });
    expect(fx.take()).toEqual(['grant b1 big']);
    const pools = Object.fromEntries(s.snapshot().pools.map((p) => [p.name, p]));
    expect(pools.ram).toMatchObject({ used: 0, budget: 2 * GiB });
    expect(pools['ollama:gpu']).toMatchObject({ used: 19 * GiB, budget: undefined });
    expect(pools['ollama:ram']).toMatchObject({ used: 1 * GiB, budget: undefined });
  });

  it('loads in different domains at the same time: one load at a time per pool, not per gateway', () => {
    const { s, fx } = harness({ models: [daemonModel('remote', 5), cpuModel('local', 1)], budgets: { ram: 2 * GiB, ...unknownDaemon } });
    s.request({ id: 'r1', model: 'remote' });
    s.request({ id: 'l1', model: 'local' });
    expect(fx.take()).toEqual(['startLoad remote gpuLayers=1', 'startLoad local']);
  });

  it('never refuses nor evicts for size while the capacity is not known', () => {
    const { s, fx } = harness({ models: [daemonModel('chat', 12), daemonModel('embed', 11)], budgets: unknownDaemon });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.request({ id: 'e1', model: 'embed' });
    s.loadDone('embed');
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=1', 'grant c1 chat', 'startLoad embed gpuLayers=1', 'grant e1 embed']);
    expect(s.snapshot().counters.evictions).toBe(0);
  });

  it('a configured capacity is a budget like any other', () => {
    const { s, fx } = harness({ models: [daemonModel('chat', 12), daemonModel('embed', 11)], budgets: { 'ollama:gpu': 16 * GiB, 'ollama:ram': 0 } });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.serveDone('c1');
    s.request({ id: 'e1', model: 'embed' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=1', 'grant c1 chat', 'startUnload chat']);
  });
});

describe('learned conflicts', () => {
  const models = [daemonModel('chat', 12), daemonModel('embed', 11), daemonModel('tiny', 1)];

  it('evicts a conflicting model first, and groups a burst into one swap', () => {
    const { s, clock, fx } = harness({ models, budgets: unknownDaemon });
    s.request({ id: 'c0', model: 'chat' });
    s.loadDone('chat');
    // Learned earlier: the daemon dropped the chat model to load the embedder.
    s.learnConflict(['embed', 'chat']);
    expect(s.snapshot().conflicts).toEqual([['chat', 'embed']]);
    fx.take();
    // While the chat model serves, a RAG burst arrives: embed, chat, embed, chat.
    for (const [id, model] of [['e1', 'embed'], ['c1', 'chat'], ['e2', 'embed'], ['c2', 'chat']]) {
      s.request({ id, model });
      clock.advance(10);
    }
    expect(fx.take()).toEqual([]);
    s.serveDone('c0');
    expect(fx.take()).toEqual(['grant c1 chat']);
    s.serveDone('c1');
    expect(fx.take()).toEqual(['grant c2 chat']);
    s.serveDone('c2');
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    s.loadDone('embed');
    s.serveDone('e1');
    expect(fx.take()).toEqual(['startLoad embed gpuLayers=1', 'grant e1 embed', 'grant e2 embed']);
    expect(s.snapshot().counters).toMatchObject({ loads: 2, evictions: 1 });
  });

  it('a model outside the set still loads beside either member', () => {
    const { s, fx } = harness({ models, budgets: unknownDaemon });
    s.learnConflict(['chat', 'embed']);
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.request({ id: 't1', model: 'tiny' });
    s.loadDone('tiny');
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=1', 'grant c1 chat', 'startLoad tiny gpuLayers=1', 'grant t1 tiny']);
  });

  it('a set of three lets any two stay together', () => {
    const { s, fx } = harness({ models, budgets: unknownDaemon });
    s.learnConflict(['chat', 'embed', 'tiny']);
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.request({ id: 'e1', model: 'embed' });
    s.loadDone('embed');
    s.serveDone('c1');
    s.serveDone('e1');
    s.request({ id: 't1', model: 'tiny' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=1', 'grant c1 chat', 'startLoad embed gpuLayers=1', 'grant e1 embed', 'startUnload chat']);
  });

  it('a smaller set supersedes the larger ones it implies; forgetting a model drops its sets', () => {
    const { s } = harness({ models, budgets: unknownDaemon });
    s.learnConflict(['chat', 'embed', 'tiny']);
    s.learnConflict(['chat', 'embed']);
    s.learnConflict(['embed', 'chat', 'tiny']);
    expect(s.snapshot().conflicts).toEqual([['chat', 'embed']]);
    s.learnConflict(['tiny', 'embed']);
    s.forgetConflicts(['chat']);
    expect(s.snapshot().conflicts).toEqual([['embed', 'tiny']]);
  });

  it('a pinned partner is never evicted: its rival is refused, naming the reason', () => {
    const { s, fx } = harness({ models: [daemonModel('chat', 12, { pinned: true }), daemonModel('embed', 11)], budgets: unknownDaemon });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.learnConflict(['chat', 'embed']);
    s.request({ id: 'e1', model: 'embed' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=1', 'grant c1 chat', 'reject e1 DOES_NOT_FIT']);
  });
});

describe('adoption', () => {
  it('a model the runtime holds without a load of ours joins the ledger at its reported size', () => {
    const { s, fx } = harness({ models: [daemonModel('chat', 12), daemonModel('embed', 11)], budgets: { 'ollama:gpu': 16 * GiB, 'ollama:ram': 0 } });
    s.adopt('chat', { ram: 0, gpu: 10 * GiB });
    expect(s.snapshot().models.find((m) => m.name === 'chat')).toMatchObject({ state: 'ready', heldBytes: { 'ollama:ram': 0, 'ollama:gpu': 10 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['grant c1 chat']);
    s.serveDone('c1');
    // Its reported size is the estimate of its next load too.
    s.request({ id: 'e1', model: 'embed' });
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    expect(s.snapshot().models.find((m) => m.name === 'chat')?.estimatedBytes).toEqual({ 'ollama:ram': 0, 'ollama:gpu': 10 * GiB });
  });

  it('is ignored for a model that is loading or resident here', () => {
    const { s, fx } = harness({ models: [daemonModel('chat', 12)], budgets: unknownDaemon });
    s.request({ id: 'c1', model: 'chat' });
    s.adopt('chat', { ram: 0, gpu: 1 });
    expect(s.snapshot().models[0].state).toBe('loading');
    s.loadDone('chat');
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=1', 'grant c1 chat']);
  });
});
