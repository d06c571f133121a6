import { describe, expect, it } from 'vitest';
import type { Backend, HostStatus } from '../backends/backend.js';
import type { ModelEntry } from '../models/model-entry.js';
import { RemotePlacement, type ReportingHost } from './remote-placement.js';

/** A remote Warmgate that reports `status` (mutable), counting its reads. */
class Reporting implements ReportingHost {
  reads = 0;
  constructor(readonly name: string, public status: HostStatus) {}
  hostStatus(): Promise<HostStatus> {
    this.reads++;
    return Promise.resolve(this.status);
  }
}

const model = (state: string, extra: Partial<HostStatus['models'][number]> = {}) => ({ name: 'chat', state, queued: 0, inFlight: 0, maxParallel: 1, bytes: 4e9, ...extra });
const pools = (free: number) => [{ name: 'gpu', budget: 16e9, used: 16e9 - free }];

function entryOn(hosts: string[], replicas = 1): ModelEntry {
  const copies = hosts.map((h) => ({ name: 'chat', upstream: 'chat', backend: { name: h } as Backend, config: { parallel: 1, replicas }, discovered: true, copyOf: 'chat' }) as unknown as ModelEntry);
  return { ...copies[0], copyOf: undefined, hosts: copies };
}

/** Lets the background report reads settle. */
const reportsRead = () => new Promise((r) => setImmediate(r));

describe('placing on remote Warmgates by what they report', () => {
  it('sends the request to the host that reports the model resident, not to one where it is cold', async () => {
    const a = new Reporting('a', { models: [], pools: pools(16e9) });
    const b = new Reporting('b', { models: [model('ready')], pools: pools(12e9) });
    const placement = new RemotePlacement([a, b], 10_000);
    const entry = entryOn(['a', 'b']);
    placement.place(entry, entry.hosts!).done();
    await reportsRead();
    expect(placement.place(entry, entry.hosts!).host.backend.name).toBe('b');
  });

  it('counts its own requests in flight: with replicas 2, a resident host it keeps busy is joined by a cold one with room', async () => {
    const a = new Reporting('a', { models: [model('ready')], pools: pools(12e9) });
    const b = new Reporting('b', { models: [], pools: pools(16e9) });
    const placement = new RemotePlacement([a, b], 10_000);
    const entry = entryOn(['a', 'b'], 2);
    placement.place(entry, entry.hosts!).done();
    await reportsRead();
    const first = placement.place(entry, entry.hosts!); // a's one slot is free
    expect(first.host.backend.name).toBe('a');
    const second = placement.place(entry, entry.hosts!); // a is busy with the first: cold b has room
    expect(second.host.backend.name).toBe('b');
  });

  it('reads a report at most every half second, never waiting for one', async () => {
    const a = new Reporting('a', { models: [model('ready')], pools: pools(12e9) });
    const placement = new RemotePlacement([a], 10_000);
    const entry = entryOn(['a']);
    for (let i = 0; i < 5; i++) placement.place(entry, entry.hosts!).done();
    await reportsRead();
    for (let i = 0; i < 5; i++) placement.place(entry, entry.hosts!).done();
    expect(a.reads).toBe(1);
  });

  it('spreads requests over servers that do not report, by the requests it has on each', () => {
    const placement = new RemotePlacement([], 10_000);
    const entry = entryOn(['x', 'y']);
    const picks = [placement.place(entry, entry.hosts!), placement.place(entry, entry.hosts!)];
    expect(picks.map((p) => p.host.backend.name)).toEqual(['x', 'y']);
  });
});
