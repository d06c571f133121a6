import { describe, expect, it } from 'vitest';
import { cpuModel, GiB, harness } from '../../test/support/scheduler-harness.js';

const models = [cpuModel('embed', 3), cpuModel('chat', 8)];
const budgets = { ram: 10 * GiB };
const ram = (h: ReturnType<typeof harness>) => h.s.snapshot().pools[0].used / GiB;

describe('cancelled loads', () => {
  it('a cancelled waiter cancels its load', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.cancel('c1');
    expect(h.fx.take()).toEqual(['startLoad chat', 'cancelLoad chat']);
    expect(ram(h)).toBe(8); // held until the shell confirms the cancel
    h.s.loadFailed('chat', 'aborted');
    expect(h.fx.take()).toEqual([]); // nobody to reject
    expect(ram(h)).toBe(0);
    expect(h.s.snapshot().counters).toMatchObject({ cancelledLoads: 1, loadFailures: 0 });
  });

  it('a waiter arriving after the cancel gets a fresh load once the cancel is confirmed', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.cancel('c1');
    h.s.request({ id: 'c2', model: 'chat' });
    h.s.loadFailed('chat', 'aborted');
    expect(h.fx.take()).toEqual(['startLoad chat', 'cancelLoad chat', 'startLoad chat']);
  });

  it('a cancelled load that finishes anyway serves whoever came since', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.cancel('c1');
    h.s.request({ id: 'c2', model: 'chat' });
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat', 'cancelLoad chat', 'grant c2 chat']);
  });

  it('a cancel that is never confirmed escalates to an unload', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.cancel('c1');
    expect(h.s.nextWakeAt()).toBe(5000);
    h.clock.advance(5000);
    h.s.tick();
    expect(h.fx.take()).toEqual(['startLoad chat', 'cancelLoad chat', 'startUnload chat']);
    h.s.loadFailed('chat', 'late'); // stale: the model is unloading now
    expect(ram(h)).toBe(8);
    h.s.unloadDone('chat');
    expect(ram(h)).toBe(0);
  });

  it('an admin preload is not cancelled when its waiters leave', () => {
    const h = harness({ models, budgets });
    h.s.adminLoad('chat');
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.cancel('c1');
    h.s.loadDone('chat');
    expect(h.fx.take()).toEqual(['startLoad chat']);
    expect(h.s.snapshot().models[1]).toMatchObject({ state: 'ready', adminLoad: false });
  });
});

describe('failed and slow loads', () => {
  it('a failed load rejects its waiters and frees the ledger', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.request({ id: 'c2', model: 'chat' });
    h.s.loadFailed('chat', 'invalid GGUF');
    expect(h.fx.take()).toEqual(['startLoad chat', 'reject c1 LOAD_FAILED', 'reject c2 LOAD_FAILED']);
    expect(h.fx.rejectionOf('c1')).toEqual({ code: 'LOAD_FAILED', message: 'loading chat failed: invalid GGUF' });
    expect(ram(h)).toBe(0);
    expect(h.s.snapshot().models[1]).toMatchObject({ state: 'unloaded', lastError: 'loading chat failed: invalid GGUF' });
    h.s.request({ id: 'c3', model: 'chat' }); // the next request tries again
    expect(h.fx.take()).toEqual(['startLoad chat']);
  });

  it('load timeout', () => {
    const h = harness({ models, budgets, config: { loadTimeoutMs: 60_000 } });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.request({ id: 'e1', model: 'embed' }); // waits: one load at a time
    expect(h.s.nextWakeAt()).toBe(60_000);
    h.clock.advance(59_999);
    h.s.tick();
    expect(h.fx.take()).toEqual(['startLoad chat']);
    h.clock.advance(1);
    h.s.tick();
    expect(h.fx.take()).toEqual(['reject c1 LOAD_TIMEOUT', 'cancelLoad chat']);
    expect(h.fx.rejectionOf('c1')?.message).toBe('loading chat took longer than 60s');
    expect(ram(h)).toBe(8); // still held: the ledger waits for the truth
    h.s.loadFailed('chat', 'aborted');
    expect(h.fx.take()).toEqual(['startLoad embed']);
    expect(h.s.snapshot().counters).toMatchObject({ loadTimeouts: 1, cancelledLoads: 1, loadFailures: 0 });
  });
});

describe('unloads', () => {
  const evictingChat = () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.serveDone('c1');
    h.s.request({ id: 'e1', model: 'embed' });
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'startUnload chat']);
    return h;
  };

  it('a failed unload keeps the memory counted and is retried after unloadTimeoutMs', () => {
    const h = evictingChat();
    h.s.unloadFailed('chat', 'EPERM');
    expect(h.s.snapshot().models[1]).toMatchObject({ state: 'ready', lastError: 'unloading chat failed: EPERM' });
    expect(ram(h)).toBe(8);
    expect(h.s.nextWakeAt()).toBe(5000);
    h.clock.advance(5000);
    h.s.tick();
    h.s.unloadDone('chat');
    expect(h.fx.take()).toEqual(['startUnload chat', 'startLoad embed']);
  });

  it('an unload that never answers counts as failed', () => {
    const h = evictingChat();
    h.clock.advance(5000);
    h.s.tick();
    expect(h.s.snapshot().models[1]).toMatchObject({ state: 'ready', lastError: 'unloading chat timed out' });
    h.clock.advance(5000);
    h.s.tick();
    expect(h.fx.take()).toEqual(['startUnload chat']);
  });

  it('a model that goes away on its own releases its memory and its slots', () => {
    const h = harness({ models, budgets });
    h.s.request({ id: 'c1', model: 'chat' });
    h.s.loadDone('chat');
    h.s.request({ id: 'c2', model: 'chat' });
    h.s.unloadDone('chat'); // the process crashed; c2 still wants the model
    expect(h.s.snapshot().models[1]).toMatchObject({ state: 'loading', inFlight: 0, queued: 1 });
    h.s.serveDone('c1'); // ignored: that slot died with the process
    expect(h.fx.take()).toEqual(['startLoad chat', 'grant c1 chat', 'startLoad chat']);
  });
});
