import { describe, expect, it } from 'vitest';
import { SlotPool } from './slot-pool.js';

/** A promise with its resolver, to hold a slot until the test lets go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('SlotPool', () => {
  it('lends free slots at once and resets a slot before it is lent again', async () => {
    const resets: string[] = [];
    const pool = new SlotPool(['a', 'b'], async (slot) => void resets.push(slot));
    const seen = await Promise.all([pool.use(undefined, async (s) => s), pool.use(undefined, async (s) => s)]);
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(resets.sort()).toEqual(['a', 'b']);
    expect(pool.idle).toBe(2);
  });

  it('queues requests first-in first-out when every slot is busy', async () => {
    const pool = new SlotPool(['only'], async () => {});
    const held = gate();
    const order: number[] = [];
    const first = pool.use(undefined, () => held.promise);
    const waiters = [1, 2, 3].map((n) => pool.use(undefined, async () => void order.push(n)));
    expect(pool.waiting).toBe(3);
    held.open();
    await Promise.all([first, ...waiters]);
    expect(order).toEqual([1, 2, 3]);
    expect(pool.idle).toBe(1);
  });

  it('drops a waiter whose signal aborts, and the slot goes to the next one', async () => {
    const pool = new SlotPool(['only'], async () => {});
    const held = gate();
    const first = pool.use(undefined, () => held.promise);
    const abort = new AbortController();
    const leaving = pool.use(abort.signal, async () => 'never');
    const staying = pool.use(undefined, async () => 'served');
    abort.abort(new Error('client went away'));
    await expect(leaving).rejects.toThrow('client went away');
    expect(pool.waiting).toBe(1);
    held.open();
    await first;
    await expect(staying).resolves.toBe('served');
  });

  it('returns the slot when the work throws', async () => {
    const pool = new SlotPool(['only'], async () => {});
    await expect(pool.use(undefined, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.use(undefined, async (s) => s)).resolves.toBe('only');
  });

  it('rejects every waiter on shutdown', async () => {
    const pool = new SlotPool(['only'], async () => {});
    const held = gate();
    const first = pool.use(undefined, () => held.promise);
    const waiter = pool.use(undefined, async () => 'never');
    pool.rejectWaiters(new Error('shutting down'));
    await expect(waiter).rejects.toThrow('shutting down');
    held.open();
    await first;
    expect(pool.idle).toBe(1);
  });

  it('refuses an already aborted signal without taking a slot', async () => {
    const pool = new SlotPool(['only'], async () => {});
    await expect(pool.use(AbortSignal.abort(new Error('gone')), async () => 'never')).rejects.toThrow('gone');
    expect(pool.idle).toBe(1);
  });
});
