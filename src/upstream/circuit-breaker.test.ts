import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

/** A breaker on a clock the test moves: 3 failures, 5 s first back-off, 20 s cap. */
function breaker() {
  const clock = { t: 1_000, now: () => clock.t };
  const b = new CircuitBreaker('gpu1', { failures: 3, openMs: 5_000, maxOpenMs: 20_000 }, clock);
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) b.failed();
  };
  /** Moves the clock to the breaker's wake-up and ticks: whether the probe goes. */
  const wake = () => {
    clock.t = b.nextWakeAt()!;
    return b.tick();
  };
  const refusal = () => {
    try {
      b.admit();
      return undefined;
    } catch (err) {
      return err as { code: string; status: number; retryAfter: number; message: string };
    }
  };
  return { b, clock, fail, wake, refusal };
}

describe('circuit breaker', () => {
  it('stays closed below the failure count, and a reply resets the count', () => {
    const { b, fail, refusal } = breaker();
    fail(2);
    b.passed();
    fail(2);
    expect(b.status()).toEqual({ state: 'closed', failures: 2, opens: 0 });
    expect(refusal()).toBeUndefined();
    expect(b.nextWakeAt()).toBeUndefined();
  });

  it('opens after N consecutive failures and refuses at once with 503, the backend, its state and Retry-After', () => {
    const { b, clock, fail, refusal } = breaker();
    fail(3);
    expect(b.status()).toEqual({ state: 'open', failures: 3, opens: 1, nextProbeInMs: 5_000 });
    clock.t += 1_500;
    expect(refusal()).toMatchObject({
      code: 'WG_BACKEND_DOWN', status: 503, retryAfter: 4,
      message: 'backend gpu1 is down: its circuit breaker is open after 3 failed connection attempts; the next probe is in 4s',
    });
  });

  it('failures of calls that started before it opened add nothing', () => {
    const { b, fail } = breaker();
    fail(5);
    expect(b.status()).toMatchObject({ failures: 3, opens: 1 });
  });

  it('goes half-open at the end of the back-off, not before, and refuses while its one probe runs', () => {
    const { b, clock, fail, refusal } = breaker();
    fail(3);
    clock.t += 4_999;
    expect(b.tick()).toBe(false);
    clock.t += 1;
    expect(b.tick()).toBe(true);
    expect(b.tick()).toBe(false); // one probe, not one per tick
    expect(b.status()).toMatchObject({ state: 'half-open', nextProbeInMs: 0 });
    expect(refusal()).toMatchObject({ code: 'WG_BACKEND_DOWN', retryAfter: 1, message: expect.stringContaining('half-open after 3 failed connection attempts; a probe is checking it now') });
  });

  it('a probe that gets a reply closes it: requests pass, the count and back-off start afresh', () => {
    const { b, fail, wake, refusal } = breaker();
    fail(3);
    wake();
    b.probeDone(true);
    expect(b.status()).toEqual({ state: 'closed', failures: 0, opens: 1 });
    expect(refusal()).toBeUndefined();
    fail(3);
    expect(b.status()).toMatchObject({ state: 'open', opens: 2, nextProbeInMs: 5_000 });
  });

  it('a failed probe opens it again for twice as long, capped at the maximum', () => {
    const { b, fail, wake } = breaker();
    fail(3);
    const backoffs: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(wake()).toBe(true);
      b.probeDone(false);
      backoffs.push(b.status().nextProbeInMs!);
    }
    expect(backoffs).toEqual([10_000, 20_000, 20_000, 20_000]);
    expect(b.status()).toMatchObject({ state: 'open', opens: 1 }); // re-opening is the same outage
  });

  it('a reply to a call already on its way while open proves the host alive: it closes', () => {
    const { b, fail } = breaker();
    fail(3);
    b.passed();
    expect(b.status()).toEqual({ state: 'closed', failures: 0, opens: 1 });
    expect(b.nextWakeAt()).toBeUndefined();
  });

  it('a probe outcome that arrives when it is no longer half-open changes nothing', () => {
    const { b, fail, wake } = breaker();
    fail(3);
    wake();
    b.passed(); // a late reply closed it meanwhile
    b.probeDone(false);
    expect(b.status()).toEqual({ state: 'closed', failures: 0, opens: 1 });
  });

  it('tells its listeners each change of state, once', () => {
    const { b, fail, wake } = breaker();
    const changes: string[] = [];
    b.onChange((from, to) => changes.push(`${from}->${to}`));
    fail(4);
    wake();
    b.probeDone(false);
    wake();
    b.probeDone(true);
    b.passed();
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->open', 'open->half-open', 'half-open->closed']);
  });
});
