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

const models = [cpuModel('embed', 3), cpuModel('chat', 4, { maxParallel: 2 })];
const budgets = { ram: 10 * GiB };
const model = (h: ReturnType<typeof harness>, name: string) => h.s.snapshot().models.find((m) => m.name === name);

/** A config reload: `renewModel` for a model whose load settings changed, `retireModel` for one removed. */
describe('renewModel: a config reload changed the model\'s load settings', () => {
  it('lets requests in flight finish, then unloads and loads afresh for the waiters', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.renewModel(cpuModel('chat', 5, { maxParallel: 2 }));
    h.s.request({ id: 'c2', model: 'chat' }); // a free slot, but the residency is stale
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat']);
    expect(model(h, 'chat')).toMatchObject({ state: 'ready', stale: true, inFlight: 1, queued: 1 });

    h.s.serveDone('c1');
    expect(h.fx.take()).toEqual(['startUnload chat']);
    h.s.unloadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat']);
    expect(h.s.snapshot().pools[0].used).toBe(5 * GiB); // the new footprint
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['grant c2 chat']);
    expect(model(h, 'chat')).toMatchObject({ stale: false });
  });

  it('an idle model is unloaded at once and stays unloaded until asked for', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.serveDone('c1');
    h.fx.take();
    h.s.renewModel(cpuModel('chat', 4, { maxParallel: 2 }));
    h.s.unloadDone('chat');
    expect(h.fx.take()).toEqual(['startUnload chat']);
    expect(model(h, 'chat')).toMatchObject({ state: 'unloaded', stale: false });
  });

  it('a load in progress finishes, is unloaded, and the waiters get a load with the new footprint', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.renewModel(cpuModel('chat', 5, { maxParallel: 2 }));
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat', 'startUnload chat']);
    h.s.unloadDone('chat');
    expect(h.s.snapshot().pools[0].used).toBe(5 * GiB);
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat']);
  });

  it('a stale model whose unload fails keeps serving nobody and is retried after the back-off', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.serveDone('c1');
    h.s.renewModel(cpuModel('chat', 4, { maxParallel: 2 }));
    h.s.unloadFailed('chat', 'stuck');
    h.s.request({ id: 'c2', model: 'chat' });
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'startUnload chat']);
    expect(h.s.nextWakeAt()).toBe(5000);
    h.clock.advance(5000);
    h.s.tick();
    h.s.unloadDone('chat');
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startUnload chat', 'startLoad chat', 'grant c2 chat']);
  });

  it('other models keep their residency and their grants', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'e1', model: 'embed' });
    h.s.loadDone('embed');
    h.s.serveDone('e1');
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.renewModel(cpuModel('chat', 4, { maxParallel: 2 }));
    h.s.request({ id: 'e2', model: 'embed' });
    expect(h.fx.take()).toEqual(['startLoad embed', 'grant e1 embed', 'startLoad chat', 'grant c1 chat', 'grant e2 embed']);
    expect(model(h, 'embed')).toMatchObject({ state: 'ready', stale: false });
  });
});

describe('retireModel: a config reload removed the model', () => {
  it('rejects its queued and new requests, lets the ones in flight finish, then forgets it', () => {
    const h = harness({ models: [cpuModel('embed', 3), cpuModel('chat', 4)], budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.request({ id: 'c2', model: 'chat' });
    h.s.retireModel('chat', 'model chat was removed from the configuration');
    h.s.request({ id: 'c3', model: 'chat' });
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'reject c2 UNAVAILABLE', 'reject c3 UNAVAILABLE']);
    expect(h.fx.rejectionOf('c3')?.message).toBe('model chat was removed from the configuration');
    expect(model(h, 'chat')).toMatchObject({ state: 'ready', retired: true, inFlight: 1 });

    h.s.serveDone('c1');
    h.s.unloadDone('chat');
    expect(h.fx.take()).toEqual(['startUnload chat']);
    expect(model(h, 'chat')).toBeUndefined();
    expect(h.s.snapshot().pools[0].used).toBe(0);
    h.s.request({ id: 'c4', model: 'chat' });
    expect(h.fx.rejectionOf('c4')?.message).toBe('model chat is not registered');
  });

  it('cancels its load, and is forgotten once the cancel is confirmed', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.retireModel('chat', 'removed');
    expect(h.fx.take()).toEqual(['startLoad chat', 'reject c1 UNAVAILABLE', 'cancelLoad chat']);
    expect(model(h, 'chat')).toMatchObject({ state: 'loading', retired: true });
    h.s.loadFailed('chat', 'aborted');
    expect(model(h, 'chat')).toBeUndefined();
  });

  it('an unloaded model is forgotten at once; an unknown one is ignored', () => {
    const h = harness({ models, budgets });
    h.s.retireModel('chat', 'removed');
    h.s.retireModel('nope', 'removed');
    expect(h.s.snapshot().models.map((m) => m.name)).toEqual(['embed']);
  });

  it('added back before its unload ends (renewed), it serves again after a fresh load', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.retireModel('chat', 'removed');
    h.s.renewModel(cpuModel('chat', 4, { maxParallel: 2 }));
    h.s.request({ id: 'c2', model: 'chat' });
    h.s.serveDone('c1');
    h.s.unloadDone('chat');
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'startUnload chat', 'startLoad chat', 'grant c2 chat']);
    expect(model(h, 'chat')).toMatchObject({ retired: false, stale: false });
  });

  it('frees its memory for a waiting model once its last request ends', () => {
    const h = harness({ models: [cpuModel('a', 6), cpuModel('b', 6)], budgets });
    h.s.request({ id: 'a1', model: 'a' });
    h.s.loadDone('a');
    h.s.request({ id: 'b1', model: 'b' });
    h.s.retireModel('a', 'removed');
    expect(h.fx.take()).toEqual(['startLoad a', 'grant a1 a']);
    h.s.serveDone('a1');
    h.s.unloadDone('a');
    expect(h.fx.take()).toEqual(['startUnload a', 'startLoad b']);
  });
});
