import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';

const models = [cpuModel('embed', 3), cpuModel('chat', 8)];
const budgets = { ram: 10 * GiB };

describe('requests and queues', () => {
  it('queue full rejects at once', () => {
    const { s, fx } = harness({ models, budgets, config: { maxQueuePerModel: 2, maxQueueTotal: 3, maxHoldMs: 10_000 } });
    for (const id of ['c1', 'c2', 'c3']) s.request({ id, model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat', 'reject c3 QUEUE_FULL']);
    // A cold model: one hold period plus its reload cost (1 s).
    expect(fx.rejectionOf('c3')).toEqual({ code: 'QUEUE_FULL', message: 'the queue for chat is full', retryAfterS: 11 });

    s.request({ id: 'e1', model: 'embed' });
    s.request({ id: 'e2', model: 'embed' });
    expect(fx.take()).toEqual(['reject e2 QUEUE_FULL']);
    expect(fx.rejectionOf('e2')?.message).toBe('the request queue is full');
  });

  it('granted requests no longer count against the queue limit', () => {
    const { s, fx } = harness({ models, budgets, config: { maxQueuePerModel: 1 } });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.request({ id: 'c2', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat', 'grant c1 chat']);
  });

  it('an unknown model is unavailable', () => {
    const { s, fx } = harness({ models, budgets });
    s.request({ id: 'x1', model: 'nope' });
    expect(fx.take()).toEqual(['reject x1 UNAVAILABLE']);
  });

  it('a duplicate request id is a caller bug and throws', () => {
    const { s } = harness({ models, budgets });
    s.request({ id: 'c1', model: 'chat' });
    expect(() => s.request({ id: 'c1', model: 'chat' })).toThrow(/already queued/);
  });

  it('cancelling a granted request frees its slot like serveDone', () => {
    const { s, fx } = harness({ models, budgets });
    s.request({ id: 'c1', model: 'chat' });
    s.request({ id: 'c2', model: 'chat' });
    s.loadDone('chat');
    s.cancel('c1');
    s.cancel('c1'); // twice, or after the answer: ignored
    expect(fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'grant c2 chat']);
  });

  it('a waiter on a warm model reports no load time', () => {
    const { s, clock, fx } = harness({ models, budgets });
    s.request({ id: 'c1', model: 'chat' });
    clock.advance(700);
    s.loadDone('chat');
    s.request({ id: 'c2', model: 'chat' });
    clock.advance(300);
    s.serveDone('c1');
    expect(fx.grantOf('c2')).toEqual({ queueMs: 300, loadMs: 0 });
  });

  it('more parallel slots from an updated registration are used at once', () => {
    const { s, fx } = harness({ models, budgets });
    for (const id of ['c1', 'c2', 'c3']) s.request({ id, model: 'chat' });
    s.loadDone('chat');
    s.registerModel(cpuModel('chat', 8, { maxParallel: 3 }));
    expect(fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'grant c2 chat', 'grant c3 chat']);
  });

  it('feeding an event back from inside an effect throws instead of corrupting state', () => {
    const reentrant: Scheduler = new Scheduler({
      config: { policy: 'group', maxHoldMs: 0, maxQueuePerModel: 1, maxQueueTotal: 1, loadTimeoutMs: 1, unloadTimeoutMs: 1 },
      clock: { now: () => 0 },
      effects: {
        startLoad: (model) => reentrant.loadDone(model),
        cancelLoad: () => {}, startUnload: () => {}, grant: () => {}, reject: () => {},
      },
    });
    reentrant.setBudget('ram', GiB);
    reentrant.registerModel(cpuModel('tiny', 0.5));
    expect(() => reentrant.request({ id: 't1', model: 'tiny' })).toThrow(/must not be fed back/);
  });
});

describe('admin loads and unloads', () => {
  it('an admin unload of a busy model waits until it is idle', () => {
    const { s, fx } = harness({ models, budgets });
    s.request({ id: 'c1', model: 'chat' });
    s.request({ id: 'c2', model: 'chat' });
    s.loadDone('chat');
    s.adminUnload('chat');
    s.serveDone('c1');
    expect(fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'grant c2 chat']);
    s.serveDone('c2');
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    expect(s.snapshot()).toMatchObject({ pools: [{ used: 0 }], counters: { unloads: 1, evictions: 0 } });
  });

  it('a model due for an admin unload that another model needs is unloaded once, not evicted again', () => {
    const { s, fx } = harness({ models, budgets });
    s.request({ id: 'e1', model: 'embed' });
    s.loadDone('embed');
    s.adminUnload('embed');
    s.request({ id: 'c1', model: 'chat' });
    s.serveDone('e1');
    expect(fx.take()).toEqual(['startLoad embed', 'grant e1 embed', 'startUnload embed']);
    expect(s.snapshot().counters).toMatchObject({ unloads: 1, evictions: 0 });
  });

  it('an admin unload of a load nobody waits for cancels it', () => {
    const { s, fx } = harness({ models, budgets });
    s.adminLoad('chat');
    s.adminUnload('chat');
    expect(fx.take()).toEqual(['startLoad chat', 'cancelLoad chat']);
  });

  it('an admin unload may unload a pinned model', () => {
    const { s, fx } = harness({ models: [cpuModel('chat', 8, { pinned: true })], budgets });
    s.adminLoad('chat');
    s.loadDone('chat');
    s.adminUnload('chat');
    expect(fx.take()).toEqual(['startLoad chat', 'startUnload chat']);
  });

  it('preloads load one after another; a later one that cannot co-reside evicts the earlier one', () => {
    const { s, fx } = harness({ models, budgets });
    s.adminLoad('embed');
    s.adminLoad('chat');
    s.loadDone('embed');
    expect(fx.take()).toEqual(['startLoad embed', 'startUnload embed']);
    expect(() => s.adminLoad('nope')).toThrow(/unknown model/);
  });
});
