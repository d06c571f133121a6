import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness, hostBudgets as hosts, hostCopy as copy } from '../../test/support/scheduler-harness.js';

/**
 * Placement: a model served by several hosts (each its own memory domain) is registered
 * once per host as a copy; a request names the model and the scheduler picks the copy:
 * resident with a free slot, resident by shortest wait, fits without evicting, cheapest
 * eviction. A host taken out by its breaker gets nothing new and gives its waiters away.
 */

describe('placing a request on one of several hosts', () => {
  it('serves from the host where the model is already resident instead of loading it on an empty one', () => {
    const { s, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'r1', model: 'chat' });
    s.loadDone('chat@a');
    s.serveDone('r1');
    s.request({ id: 'r2', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat@a gpuLayers=1', 'grant r1 chat@a', 'grant r2 chat@a']);
  });

  it('loads a cold model where it fits without evicting anything', () => {
    const models = [copy('big', 'a', 12), copy('chat', 'a', 8), copy('chat', 'b', 8), copy('big', 'b', 12)];
    const { s, fx } = harness({ models, budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'b1', model: 'big' });
    s.loadDone('big@a');
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad big@a gpuLayers=1', 'grant b1 big@a', 'startLoad chat@b gpuLayers=1']);
    expect(s.snapshot().counters.evictions).toBe(0);
  });

  it('among hosts where it fits, picks the one with the most memory left free', () => {
    const models = [copy('x', 'a', 4), copy('y', 'b', 10), copy('chat', 'a', 4), copy('chat', 'b', 4)];
    const { s, fx } = harness({ models, budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'y1', model: 'y@b' });
    s.loadDone('y@b');
    s.request({ id: 'x1', model: 'x@a' });
    s.loadDone('x@a');
    fx.take();
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat@a gpuLayers=1']);
  });

  it('when every host is full, evicts where it costs least: an idle model before a busy one', () => {
    const models = [copy('x', 'a', 12), copy('y', 'b', 12), copy('chat', 'a', 8), copy('chat', 'b', 8)];
    const { s, fx } = harness({ models, budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'x1', model: 'x@a' });
    s.loadDone('x@a');
    s.request({ id: 'y1', model: 'y@b' });
    s.loadDone('y@b');
    s.serveDone('y1'); // y idle on b; x still serving on a
    fx.take();
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startUnload y@b']);
    s.unloadDone('y@b');
    expect(fx.take()).toEqual(['startLoad chat@b gpuLayers=1']);
  });

  it('queues on the busy resident copy while it can serve within max_hold_ms, and loads no second copy', () => {
    const { s, clock, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b'), config: { maxHoldMs: 10_000 } });
    s.request({ id: 'r1', model: 'chat' });
    s.loadDone('chat@a');
    clock.advance(1_000);
    s.serveDone('r1'); // a request takes about 1 s
    s.request({ id: 'r2', model: 'chat' });
    s.request({ id: 'r3', model: 'chat' });
    s.request({ id: 'r4', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat@a gpuLayers=1', 'grant r1 chat@a', 'grant r2 chat@a']);
    expect(s.snapshot().models.find((m) => m.name === 'chat@a')?.queued).toBe(2);
  });

  it('starts a second copy on another host once the wait on the first would pass max_hold_ms', () => {
    const { s, clock, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b'), config: { maxHoldMs: 10_000 } });
    s.request({ id: 'r1', model: 'chat' });
    s.loadDone('chat@a');
    clock.advance(4_000);
    s.serveDone('r1'); // a request takes about 4 s
    for (const id of ['r2', 'r3', 'r4', 'r5']) s.request({ id, model: 'chat' });
    // r2 is served, r3 and r4 wait 4 and 8 s; r5 would wait 12 s > 10 s: a copy on b.
    expect(fx.take()).toEqual(['startLoad chat@a gpuLayers=1', 'grant r1 chat@a', 'grant r2 chat@a', 'startLoad chat@b gpuLayers=1']);
    s.loadDone('chat@b');
    expect(fx.take()).toEqual(['grant r5 chat@b']);
  });

  it('with replicas: 2 starts the second copy as soon as the first is busy', () => {
    const models = [copy('chat', 'a', 8, { replicas: 2 }), copy('chat', 'b', 8, { replicas: 2 })];
    const { s, fx } = harness({ models, budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'r1', model: 'chat' });
    s.loadDone('chat@a');
    s.request({ id: 'r2', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat@a gpuLayers=1', 'grant r1 chat@a', 'startLoad chat@b gpuLayers=1']);
  });

  it('a model of one host is requested by its own name, as before', () => {
    const { s, fx } = harness({ models: [cpuModel('solo', 1)], budgets: { ram: 4 * GiB } });
    s.request({ id: 'r1', model: 'solo' });
    expect(fx.take()).toEqual(['startLoad solo']);
  });
});

describe('hosts that fail', () => {
  it('moves the requests queued on a host that goes down to another host, and places nothing new there until it is up', () => {
    const { s, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'r1', model: 'chat' });
    s.loadDone('chat@a');
    s.request({ id: 'r2', model: 'chat' });
    fx.take();
    s.hostDown('a');
    expect(fx.take()).toEqual(['startLoad chat@b gpuLayers=1']);
    s.loadDone('chat@b');
    s.request({ id: 'r3', model: 'chat' });
    expect(fx.take()).toEqual(['grant r2 chat@b']);
    s.serveDone('r2');
    expect(fx.take()).toEqual(['grant r3 chat@b']);
    s.hostUp('a');
    s.serveDone('r1'); // the request in flight on a ended (the shell's business how)
    s.request({ id: 'r4', model: 'chat' });
    expect(fx.take()).toEqual(['grant r4 chat@a']);
  });

  it('refuses a request at once when every host of its model is down', () => {
    const { s, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b') });
    s.hostDown('a');
    s.hostDown('b');
    s.request({ id: 'r1', model: 'chat' });
    expect(fx.take()).toEqual(['reject r1 UNAVAILABLE']);
  });

  it("a load that fails on one host sends its waiters to the next; they are refused only when every host failed them", () => {
    const { s, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'r1', model: 'chat' });
    s.loadFailed('chat@a', 'connection refused');
    expect(fx.take()).toEqual(['startLoad chat@a gpuLayers=1', 'startLoad chat@b gpuLayers=1']);
    s.loadFailed('chat@b', 'connection refused');
    expect(fx.take()).toEqual(['reject r1 LOAD_FAILED']);
    expect(fx.rejectionOf('r1')?.message).toContain('chat on b failed');
  });

  it('a request retried after its host could not be reached avoids that copy', () => {
    const { s, fx } = harness({ models: [copy('chat', 'a', 8), copy('chat', 'b', 8)], budgets: hosts(16, 'a', 'b') });
    s.request({ id: 'r1', model: 'chat' });
    s.loadDone('chat@a');
    s.serveDone('r1');
    fx.take();
    s.request({ id: 'r1-again', model: 'chat', avoid: ['chat@a'] });
    expect(fx.take()).toEqual(['startLoad chat@b gpuLayers=1']);
  });
});
