import { describe, expect, it } from 'vitest';
import { FakeStream, settle } from '../../test/fakes/fake-embedder.js';
import { SingleFlight } from './single-flight.js';

/** Reads a caller's chunks into an array as they arrive; `result` settles at its end. */
function collect<T>(chunks: AsyncIterable<T>) {
  const seen: T[] = [];
  const result = (async () => {
    for await (const chunk of chunks) seen.push(chunk);
    return seen;
  })();
  result.catch(() => undefined); // inspected by the tests that expect a rejection
  return { seen, result };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight.call', () => {
  it('shares one upstream call among identical concurrent callers, then forgets it', async () => {
    const flights = new SingleFlight<string>();
    const upstream = deferred<string>();
    let calls = 0;
    const fn = () => {
      calls += 1;
      return upstream.promise;
    };
    const leader = flights.call('k', fn);
    const joiner = flights.call('k', fn);
    const other = flights.call('other', async () => 'x');
    upstream.resolve('v');
    expect(await leader).toEqual({ value: 'v', coalesced: false });
    expect(await joiner).toEqual({ value: 'v', coalesced: true });
    expect(await other).toEqual({ value: 'x', coalesced: false });
    expect(calls).toBe(1);
    expect(flights.stats()).toEqual({ flights: 2, coalesced: 1, inFlight: 0 });
    expect(await flights.call('k', async () => 'later')).toEqual({ value: 'later', coalesced: false });
  });

  it('sends an upstream error to every caller', async () => {
    const flights = new SingleFlight<string>();
    const upstream = deferred<string>();
    const callers = [flights.call('k', () => upstream.promise), flights.call('k', () => upstream.promise)];
    upstream.reject(new Error('boom'));
    for (const caller of callers) await expect(caller).rejects.toThrow('boom');
    expect(flights.stats().inFlight).toBe(0);
  });

  it('lets one caller abort while the other still gets the value', async () => {
    const flights = new SingleFlight<string>();
    const upstream = deferred<string>();
    let signal: AbortSignal | undefined;
    const gone = new AbortController();
    const leader = flights.call('k', (s) => {
      signal = s;
      return upstream.promise;
    }, gone.signal);
    const joiner = flights.call('k', () => upstream.promise);
    gone.abort();
    await expect(leader).rejects.toMatchObject({ name: 'AbortError' });
    expect(signal?.aborted).toBe(false);
    upstream.resolve('v');
    expect(await joiner).toEqual({ value: 'v', coalesced: true });
  });
});

describe('SingleFlight.stream', () => {
  it('gives a joiner that arrives mid-stream the full stream', async () => {
    const flights = new SingleFlight<string>();
    const upstream = new FakeStream<string>();
    const leader = flights.stream('k', upstream.start);
    const first = collect(leader.chunks);
    upstream.push('a');
    upstream.push('b');
    await settle();
    expect(first.seen).toEqual(['a', 'b']);

    const joined = flights.stream('k', upstream.start);
    const second = collect(joined.chunks);
    await settle();
    expect(second.seen).toEqual(['a', 'b']);
    upstream.push('c');
    upstream.end();
    expect(await first.result).toEqual(['a', 'b', 'c']);
    expect(await second.result).toEqual(['a', 'b', 'c']);
    expect([leader.coalesced, joined.coalesced]).toEqual([false, true]);
    expect(upstream.starts).toBe(1);
    expect(flights.stats().inFlight).toBe(0);
  });

  it('keeps serving the others when one caller disconnects', async () => {
    const flights = new SingleFlight<string>();
    const upstream = new FakeStream<string>();
    const gone = new AbortController();
    const staying = collect(flights.stream('k', upstream.start).chunks);
    const leaving = collect(flights.stream('k', upstream.start, gone.signal).chunks);
    upstream.push('a');
    await settle();
    gone.abort();
    upstream.push('b');
    upstream.end();
    await expect(leaving.result).rejects.toMatchObject({ name: 'AbortError' });
    expect(leaving.seen).toEqual(['a']);
    expect(await staying.result).toEqual(['a', 'b']);
    expect(upstream.signal?.aborted).toBe(false);
  });

  it('aborts the upstream only when every caller has gone, then starts afresh', async () => {
    const flights = new SingleFlight<string>();
    const upstream = new FakeStream<string>();
    const byAbort = new AbortController();
    const aborting = collect(flights.stream('k', upstream.start, byAbort.signal).chunks);
    const breaking = flights.stream('k', upstream.start).chunks;
    upstream.push('a');
    for await (const chunk of breaking) if (chunk === 'a') break; // stopping iteration also leaves
    expect(upstream.signal?.aborted).toBe(false);
    byAbort.abort();
    expect(upstream.signal?.aborted).toBe(true);
    await expect(aborting.result).rejects.toMatchObject({ name: 'AbortError' });

    const fresh = new FakeStream<string>();
    const next = flights.stream('k', fresh.start);
    expect(next.coalesced).toBe(false);
    fresh.end();
    expect(await collect(next.chunks).result).toEqual([]);
  });

  it('sends an upstream error to every caller after the chunks before it', async () => {
    const flights = new SingleFlight<string>();
    const upstream = new FakeStream<string>();
    const first = collect(flights.stream('k', upstream.start).chunks);
    upstream.push('a');
    await settle();
    const late = collect(flights.stream('k', upstream.start).chunks);
    upstream.end(new Error('mid-stream'));
    await expect(first.result).rejects.toThrow('mid-stream');
    await expect(late.result).rejects.toThrow('mid-stream');
    expect([first.seen, late.seen]).toEqual([['a'], ['a']]);
  });

  it('refuses a caller whose signal has already aborted', () => {
    const flights = new SingleFlight<string>();
    const upstream = new FakeStream<string>();
    expect(() => flights.stream('k', upstream.start, AbortSignal.abort())).toThrow();
    expect(upstream.starts).toBe(0);
  });
});
