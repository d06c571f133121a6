import { describe, expect, it } from 'vitest';
import { EmbeddingCache } from './embedding-cache.js';
import { embedKey } from './request-key.js';

const KEY_LENGTH = embedKey('m', {}).length + 43; // + the input's SHA-256 in base64url

describe('EmbeddingCache', () => {
  it('returns hits bit-exact with what the backend sent', () => {
    const cache = new EmbeddingCache(1 << 20);
    // As a backend's JSON reply would carry them, parsed the way a route parses it.
    const sent = JSON.parse(JSON.stringify([0.1 + 0.2, 1e-38, 5e-324, -1 / 3, 1.7976931348623157e308])) as number[];
    sent.push(-0); // JSON.stringify writes -0 as 0, but JSON.parse('-0') is -0: keep it
    cache.set('m', {}, 'text', sent);
    const hit = cache.get('m', {}, 'text');
    expect(hit).toHaveLength(sent.length);
    hit?.forEach((value, i) => expect(Object.is(value, sent[i]), `index ${i}`).toBe(true));
    expect(Object.is(hit?.[5], -0)).toBe(true);
  });

  it('hands out copies the caller may change', () => {
    const cache = new EmbeddingCache(1 << 20);
    const sent = [1, 2];
    cache.set('m', {}, 'a', sent);
    sent[0] = 9;
    cache.get('m', {}, 'a')?.fill(7);
    expect(cache.get('m', {}, 'a')).toEqual([1, 2]);
  });

  it('keys on model, input, truncate and dimensions', () => {
    const cache = new EmbeddingCache(1 << 20);
    cache.set('m', { truncate: true, dimensions: 2 }, 'a', [1, 2]);
    expect(cache.get('m', { truncate: true, dimensions: 2 }, 'a')).toEqual([1, 2]);
    expect(cache.get('n', { truncate: true, dimensions: 2 }, 'a')).toBeUndefined();
    expect(cache.get('m', { truncate: true, dimensions: 2 }, 'b')).toBeUndefined();
    expect(cache.get('m', { truncate: false, dimensions: 2 }, 'a')).toBeUndefined();
    expect(cache.get('m', { truncate: true }, 'a')).toBeUndefined();
    expect(cache.stats()).toEqual({ kind: 'memory', errors: 0, hits: 1, misses: 4, entries: 1, bytes: 16 + embedKey('m', { truncate: true, dimensions: 2 }).length + 43, hitRate: 0.2 });
  });

  it('stays within its byte bound, evicting the least recently used', () => {
    const entryBytes = 8 * 4 + KEY_LENGTH;
    const cache = new EmbeddingCache(3 * entryBytes);
    for (const input of ['a', 'b', 'c']) cache.set('m', {}, input, [1, 2, 3, 4]);
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 3 * entryBytes });
    cache.get('m', {}, 'a'); // now 'b' is the least recently used
    cache.set('m', {}, 'd', [1, 2, 3, 4]);
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 3 * entryBytes });
    expect(cache.get('m', {}, 'b')).toBeUndefined();
    expect(cache.get('m', {}, 'a')).toEqual([1, 2, 3, 4]);
    cache.set('m', {}, 'huge', new Array(1000).fill(0)); // larger than the whole bound
    expect(cache.get('m', {}, 'huge')).toBeUndefined();
    expect(cache.stats().bytes).toBeLessThanOrEqual(3 * entryBytes);
  });

  it('is disabled by a bound of 0', () => {
    const cache = new EmbeddingCache(0);
    cache.set('m', {}, 'a', [1]);
    expect(cache.get('m', {}, 'a')).toBeUndefined();
    expect(cache.lookup('m', {}, ['a']).missing).toEqual(['a']);
    expect(cache.stats()).toEqual({ kind: 'off', hits: 0, misses: 0, entries: 0, bytes: 0, hitRate: 0, errors: 0 });
  });

  it('serves a request partly, fetching each missing input once, and merges in order', () => {
    const cache = new EmbeddingCache(1 << 20);
    cache.set('m', {}, 'b', [2]);
    cache.set('m', {}, 'd', [4]);
    const lookup = cache.lookup('m', {}, ['a', 'b', 'c', 'a', 'd']);
    expect(lookup.cached).toBe(2);
    expect(lookup.missing).toEqual(['a', 'c']);
    expect(lookup.merge([[1], [3]])).toEqual([[1], [2], [3], [1], [4]]);
    expect(() => lookup.merge([[1]])).toThrow('expected 2 embeddings');
    expect(cache.lookup('m', {}, []).merge([])).toEqual([]);
  });
});
