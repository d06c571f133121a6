import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';

const models = [cpuModel('embed', 3), cpuModel('chat', 8)];
const budgets = { ram: 10 * GiB };

describe('fifo policy (the Ollama / llama-swap baseline)', () => {
  it('fifo policy swaps on every alternation', () => {
    const { s, fx } = harness({ models, budgets, config: { policy: 'fifo' } });
    const arrivals = [['e1', 'embed'], ['c1', 'chat'], ['e2', 'embed'], ['c2', 'chat']] as const;
    for (const [id, model] of arrivals) s.request({ id, model });
    expect(fx.take()).toEqual(['startLoad embed']);

    for (const [i, [id, model]] of arrivals.entries()) {
      s.loadDone(model);
      expect(fx.take()).toEqual([`grant ${id} ${model}`]);
      s.serveDone(id);
      const next = arrivals[i + 1];
      expect(fx.take()).toEqual(next ? [`startUnload ${model}`] : []);
      if (next) s.unloadDone(model);
      expect(fx.take()).toEqual(next ? [`startLoad ${next[1]}`] : []);
    }
    expect(s.snapshot().counters).toMatchObject({ loads: 4, evictions: 3, reloadsAvoided: 0 });
  });

  it('a request behind the head waits even when its model is resident', () => {
    const { s, fx } = harness({ models, budgets, config: { policy: 'fifo' } });
    s.request({ id: 'e1', model: 'embed' });
    s.loadDone('embed');
    s.request({ id: 'c1', model: 'chat' });
    s.request({ id: 'e2', model: 'embed' });
    expect(fx.take()).toEqual(['startLoad embed', 'grant e1 embed']);
    s.serveDone('e1');
    expect(fx.take()).toEqual(['startUnload embed']);
  });

  it('consecutive requests for one model share its slots', () => {
    const { s, fx } = harness({ models: [cpuModel('embed', 3, { maxParallel: 2 }), cpuModel('chat', 8)], budgets, config: { policy: 'fifo' } });
    for (const id of ['e1', 'e2', 'e3']) s.request({ id, model: 'embed' });
    s.loadDone('embed');
    expect(fx.take()).toEqual(['startLoad embed', 'grant e1 embed', 'grant e2 embed']);
  });
});
