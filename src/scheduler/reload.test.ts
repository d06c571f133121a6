import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';

/** A chat model with two slots, loaded and serving request `a`. */
function serving() {
  const h = harness({ models: [cpuModel('chat', 4, { maxParallel: 2 })], budgets: { ram: 10 * GiB } });
  h.s.request({ id: 'a', model: 'chat' });
  h.s.loadDone('chat');
  expect(h.fx.take()).toEqual(['startLoad chat', 'grant a chat']);
  return h;
}

describe('reload: the load options changed (a context pin grew)', () => {
  it('grants nothing more on the stale load, unloads it when its requests finish, then loads again for the waiters', () => {
    const { s, fx } = serving();
    s.reload('chat');
    s.request({ id: 'b', model: 'chat' }); // a free slot, but on the old options
    expect(fx.take()).toEqual([]);
    s.serveDone('a');
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    expect(fx.take()).toEqual(['startLoad chat']);
    s.loadDone('chat');
    expect(fx.take()).toEqual(['grant b chat']);
    expect(fx.grantOf('b')?.loadMs).toBeGreaterThanOrEqual(0);
  });

  it('an idle stale model is unloaded at once; a load in progress is replaced after it finishes', () => {
    const { s, fx } = serving();
    s.serveDone('a');
    s.reload('chat');
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    s.request({ id: 'b', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat']);
    s.reload('chat'); // the options grew again while it loaded
    s.loadDone('chat');
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    s.loadDone('chat');
    expect(fx.take()).toEqual(['startLoad chat', 'grant b chat']);
  });

  it('a model that is not resident needs nothing', () => {
    const h = harness({ models: [cpuModel('chat', 4)], budgets: { ram: 10 * GiB } });
    h.s.reload('chat');
    expect(h.fx.take()).toEqual([]);
    h.s.request({ id: 'a', model: 'chat' });
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant a chat']);
  });
});
