import { describe, expect, it } from 'vitest';
import { StoreOutage } from './store-outage.js';
import { ManualSchedule } from '../../test/fakes/fake-embedder.js';

function setup() {
  const clock = new ManualSchedule();
  let now = 0;
  const log: string[] = [];
  let answers = false;
  const probes: number[] = [];
  const outage = new StoreOutage({
    retryMs: 1000,
    probe: async () => {
      probes.push(now);
      if (!answers) throw new Error('still down');
    },
    onDown: (err) => log.push(`down: ${err.message}`),
    onUp: (ms) => log.push(`up after ${ms} ms`),
    now: () => now,
    schedule: clock.schedule,
  });
  const advance = async (ms: number) => {
    now += ms;
    clock.advance(ms);
    await new Promise<void>((resolve) => setImmediate(resolve)); // the probe's outcome
  };
  return { outage, log, probes, advance, clock, answer: () => (answers = true) };
}

describe('StoreOutage', () => {
  it('logs one line when an outage starts and one when it ends, whatever fails in between', async () => {
    const { outage, log, probes, advance, answer } = setup();
    expect(outage.down).toBe(false);
    outage.failed(new Error('ECONNREFUSED'));
    outage.failed(new Error('ECONNREFUSED'));
    outage.failed(new Error('Command timed out'));
    expect(outage.down).toBe(true);
    await advance(1000);
    await advance(1000);
    expect(probes).toEqual([1000, 2000]);
    expect(outage.down).toBe(true);
    answer();
    await advance(1000);
    expect(outage.down).toBe(false);
    expect(log).toEqual(['down: ECONNREFUSED', 'up after 3000 ms']);
  });

  it('ends an outage the store reports over itself (a reconnect) and stops probing', async () => {
    const { outage, log, probes, advance, clock } = setup();
    outage.failed(new Error('connection closed'));
    outage.succeeded();
    outage.succeeded();
    await advance(1000);
    expect(probes).toEqual([]);
    expect(clock.pending).toBe(0);
    expect(log).toEqual(['down: connection closed', 'up after 0 ms']);
  });

  it('keeps one probe pending however often the store fails and recovers', async () => {
    const { outage, advance, clock, probes } = setup();
    outage.failed(new Error('a'));
    outage.succeeded();
    outage.failed(new Error('b'));
    expect(clock.pending).toBe(1);
    await advance(1000);
    expect(probes).toHaveLength(1);
  });

  it('does nothing once closed', async () => {
    const { outage, log, probes, advance } = setup();
    outage.failed(new Error('a'));
    outage.close();
    await advance(1000);
    outage.failed(new Error('b'));
    expect(probes).toEqual([]);
    expect(log).toEqual(['down: a']);
  });
});
