import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';

// An embedder and an LLM that cannot both fit in 10 GiB of RAM: the RAG case.
const models = [cpuModel('embed', 3), cpuModel('chat', 8)];
const budgets = { ram: 10 * GiB };

describe('grouping policy', () => {
  it('embed/chat alternation is grouped into one swap per burst', () => {
    const { s, clock, fx } = harness({ models, budgets });
    for (const [id, model] of [['e1', 'embed'], ['c1', 'chat'], ['e2', 'embed'], ['c2', 'chat'], ['e3', 'embed'], ['c3', 'chat']]) {
      s.request({ id, model });
      clock.advance(10);
    }
    expect(fx.take()).toEqual(['startLoad embed']);

    clock.advance(1000);
    s.loadDone('embed');
    expect(fx.take()).toEqual(['grant e1 embed']);
    s.serveDone('e1');
    expect(fx.take()).toEqual(['grant e2 embed']);
    s.serveDone('e2');
    expect(fx.take()).toEqual(['grant e3 embed']);
    s.serveDone('e3');
    expect(fx.take()).toEqual(['startUnload embed']);
    s.unloadDone('embed');
    expect(fx.take()).toEqual(['startLoad chat']);
    clock.advance(2000);
    s.loadDone('chat');
    expect(fx.take()).toEqual(['grant c1 chat']);
    s.serveDone('c1');
    s.serveDone('c2');
    expect(fx.take()).toEqual(['grant c2 chat', 'grant c3 chat']);

    const { counters } = s.snapshot();
    expect(counters).toMatchObject({ loads: 2, evictions: 1, grants: 6 });
    // A per-request FIFO loads 6 times; the 4 grants that rode on a load another request paid for:
    expect(counters.reloadsAvoided).toBe(4);
    expect(fx.grantOf('e1')).toEqual({ queueMs: 1060, loadMs: 1060 });
    expect(fx.grantOf('c1')).toEqual({ queueMs: 3050, loadMs: 2000 });
  });

  it('maxHoldMs bounds starvation of the other model', () => {
    const { s, clock, fx } = harness({ models, budgets, config: { maxHoldMs: 5000 } });
    s.request({ id: 'e0', model: 'embed' });
    s.loadDone('embed');
    s.request({ id: 'e1', model: 'embed' });
    s.request({ id: 'c1', model: 'chat' });
    fx.take();
    // The embedder has steady work: every finished request is replaced by a new one.
    for (let i = 2; i <= 5; i++) {
      expect(s.nextWakeAt()).toBe(5000);
      clock.advance(1000);
      s.serveDone(`e${i - 2}`);
      s.request({ id: `e${i}`, model: 'embed' });
    }
    expect(fx.take().filter((e) => !e.startsWith('grant'))).toEqual([]);

    clock.advance(1000);
    s.tick(); // the hold ends: the embedder takes no new grant and is evicted once idle
    expect(fx.take()).toEqual([]);
    s.serveDone('e4');
    expect(fx.take()).toEqual(['startUnload embed']);
    s.unloadDone('embed');
    s.loadDone('chat');
    expect(fx.take()).toEqual(['startLoad chat', 'grant c1 chat']);
    expect(fx.grantOf('c1')?.queueMs).toBe(5000);
  });

  it('the swapped-in model keeps its turn: older waiters of the evicted model do not swap straight back', () => {
    const { s, clock, fx } = harness({ models, budgets, config: { maxHoldMs: 1000 } });
    s.request({ id: 'e1', model: 'embed' });
    s.loadDone('embed');
    s.request({ id: 'e2', model: 'embed' });
    s.request({ id: 'c1', model: 'chat' });
    s.request({ id: 'c2', model: 'chat' });
    s.request({ id: 'e3', model: 'embed' });
    clock.advance(1000);
    s.tick();
    s.serveDone('e1');
    expect(fx.take()).toEqual(['startLoad embed', 'grant e1 embed', 'startUnload embed']);

    s.unloadDone('embed'); // e2 and e3 are older than nothing chat has, yet chat goes first
    expect(fx.take()).toEqual(['startLoad chat']);
    clock.advance(500);
    s.loadDone('chat');
    s.serveDone('c1');
    // embed's waiters have waited far longer than maxHoldMs, but chat's turn started at its load.
    expect(fx.take()).toEqual(['grant c1 chat', 'grant c2 chat']);
    s.serveDone('c2');
    expect(fx.take()).toEqual(['startUnload chat']);
  });

  it('a model that fits beside the resident one loads without waiting for its turn', () => {
    const { s, fx } = harness({ models: [cpuModel('embed', 3), cpuModel('small', 2), cpuModel('chat', 5)], budgets });
    s.request({ id: 'e1', model: 'embed' });
    s.loadDone('embed');
    s.request({ id: 's1', model: 'small' });
    s.loadDone('small');
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad embed', 'grant e1 embed', 'startLoad small', 'grant s1 small', 'startLoad chat']);
  });
});
