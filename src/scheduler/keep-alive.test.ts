import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';

const budgets = { ram: 10 * GiB };
const MINUTE = 60_000;

/** A chat model with a 5-minute keep-alive, loaded and serving request `c1`. */
function servingWithKeepAlive(idleUnloadMs = 5 * MINUTE) {
  const h = harness({ models: [cpuModel('chat', 4, { idleUnloadMs }), cpuModel('embed', 2)], budgets });
  h.s.request({ id: 'c1', model: 'chat' });
  h.s.loadDone('chat');
  expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat']);
  return h;
}

describe('keep-alive expiry (models whose process the gateway owns)', () => {
  it('unloads an idle model once its keep-alive has passed since its last request', () => {
    const { s, clock, fx } = servingWithKeepAlive();
    const expiresIn = () => s.snapshot().models.find((m) => m.name === 'chat')?.expiresInMs;
    expect(expiresIn()).toBe(5 * MINUTE); // serving: the whole keep-alive is still ahead
    clock.advance(MINUTE);
    s.serveDone('c1');
    expect(s.nextWakeAt()).toBe(6 * MINUTE);
    clock.advance(2 * MINUTE);
    expect(expiresIn()).toBe(3 * MINUTE);
    clock.advance(3 * MINUTE - 1);
    s.tick();
    expect(fx.take()).toEqual([]);
    clock.advance(1);
    s.tick();
    expect(fx.take()).toEqual(['startUnload chat']);
    s.unloadDone('chat');
    expect(s.snapshot().models.find((m) => m.name === 'chat')?.state).toBe('unloaded');
  });

  it('never expires a model while a request is in flight or queued; the clock restarts at its last use', () => {
    const { s, clock, fx } = servingWithKeepAlive();
    s.request({ id: 'c2', model: 'chat' }); // queued behind c1 (one slot)
    clock.advance(10 * MINUTE);
    s.tick();
    expect(s.nextWakeAt()).toBeUndefined();
    s.serveDone('c1');
    expect(fx.take()).toEqual(['grant c2 chat']);
    clock.advance(10 * MINUTE);
    s.tick();
    expect(fx.take()).toEqual([]);
    s.serveDone('c2');
    expect(s.nextWakeAt()).toBe(clock.now() + 5 * MINUTE);
  });

  it('a request that arrives before the expiry keeps the model and pushes the expiry back', () => {
    const { s, clock, fx } = servingWithKeepAlive();
    s.serveDone('c1');
    clock.advance(4 * MINUTE);
    s.request({ id: 'c2', model: 'chat' });
    expect(fx.take()).toEqual(['grant c2 chat']);
    clock.advance(MINUTE);
    s.serveDone('c2');
    clock.advance(4 * MINUTE);
    s.tick();
    expect(fx.take()).toEqual([]);
    expect(s.nextWakeAt()).toBe(10 * MINUTE);
  });

  it('keep-alive 0 unloads as soon as the last request ends', () => {
    const { s, fx } = servingWithKeepAlive(0);
    s.serveDone('c1');
    expect(fx.take()).toEqual(['startUnload chat']);
  });

  it('a model without a keep-alive stays resident however long it idles', () => {
    const { s, clock, fx } = harness({ models: [cpuModel('chat', 4)], budgets });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.serveDone('c1');
    clock.advance(24 * 60 * MINUTE);
    s.tick();
    expect(fx.take()).toEqual(['startLoad chat', 'grant c1 chat']);
    expect(s.nextWakeAt()).toBeUndefined();
  });

  it('a preloaded model that is never used expires its keep-alive after the load', () => {
    const { s, clock, fx } = harness({ models: [cpuModel('chat', 4, { idleUnloadMs: MINUTE })], budgets });
    clock.advance(30 * MINUTE); // registered long before the preload
    s.adminLoad('chat');
    clock.advance(2_000);
    s.loadDone('chat');
    expect(s.nextWakeAt()).toBe(clock.now() + MINUTE);
    clock.advance(MINUTE);
    s.tick();
    expect(fx.take()).toEqual(['startLoad chat', 'startUnload chat']);
  });
});
