import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/random.js';
import { canonicalJson, digest, embedKey, isCoalescible, requestKey } from './request-key.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function randomJson(rand: () => number, depth: number): Json {
  const pick = Math.floor(rand() * (depth > 0 ? 7 : 5));
  if (pick === 0) return null;
  if (pick === 1) return rand() < 0.5;
  if (pick === 2) return Math.round(rand() * 200) / 100;
  if (pick === 3) return ['', 'a', 'hello', '1', 'true', 'null'][Math.floor(rand() * 6)];
  if (pick === 4) return Math.floor(rand() * 5);
  const size = 1 + Math.floor(rand() * 3);
  if (pick === 5) return Array.from({ length: size }, () => randomJson(rand, depth - 1));
  return Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, randomJson(rand, depth - 1)]));
}

/** Every variant of `value` that differs from it in exactly one place. */
function variants(value: Json): Json[] {
  if (Array.isArray(value)) {
    const own: Json[] = [[...value, 0], value.slice(1), [...value].reverse()];
    const inner = value.flatMap((item, i) => variants(item).map((v) => value.map((x, j) => (j === i ? v : x))));
    // Reversing a palindrome or shortening [] changes nothing: keep real differences only.
    return [...own.filter((v) => JSON.stringify(v) !== JSON.stringify(value)), ...inner];
  }
  if (value !== null && typeof value === 'object') {
    const own: Json[] = [{ ...value, extra: 1 }, { ...value, extra: null }];
    const inner = Object.keys(value).flatMap((key) => [
      Object.fromEntries(Object.entries(value).filter(([k]) => k !== key)),
      ...variants(value[key]).map((v) => ({ ...value, [key]: v })),
    ]);
    return [...own, ...inner];
  }
  if (typeof value === 'number') return [value + 1, -value - 1, String(value)];
  if (typeof value === 'string') return [`${value}x`, value === '' ? null : value.slice(1), { s: value }];
  if (typeof value === 'boolean') return [!value, String(value)];
  return [0, false, '', 'null', []];
}

/** The same value with every object's keys in reverse order. */
function reorder(value: Json): Json {
  if (Array.isArray(value)) return value.map(reorder);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reorder(v)]));
  }
  return value;
}

describe('requestKey', () => {
  it('ignores key order, recursively', () => {
    const a = { model: 'm', options: { temperature: 0, stop: ['a', 'b'] }, messages: [{ role: 'user', content: 'hi' }] };
    const b = { messages: [{ content: 'hi', role: 'user' }], options: { stop: ['a', 'b'], temperature: 0 }, model: 'm' };
    expect(requestKey('m', a)).toBe(requestKey('m', b));
    expect(canonicalJson(b)).toBe('{"messages":[{"content":"hi","role":"user"}],"model":"m","options":{"stop":["a","b"],"temperature":0}}');
  });

  it('never merges bodies that differ in any field (property test)', () => {
    const rand = seededRandom(20240601);
    let checked = 0;
    for (let round = 0; round < 200; round += 1) {
      const body = randomJson(rand, 3);
      const key = requestKey('model', body);
      expect(requestKey('model', reorder(body))).toBe(key);
      expect(requestKey('model-2', body)).not.toBe(key);
      for (const variant of variants(body)) {
        expect(requestKey('model', variant), JSON.stringify([body, variant])).not.toBe(key);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('tells a chat body apart from each of its one-field variations', () => {
    const body = {
      model: 'llama', stream: true, keep_alive: 300, format: { type: 'object' },
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
      options: { temperature: 0, seed: 7, top_p: 0.9, stop: ['\n'], num_predict: 64 },
    };
    const keys = new Set([body, ...variants(body)].map((v) => requestKey('llama', v)));
    expect(keys.size).toBe(1 + variants(body).length);
  });
});

describe('embedKey and digest', () => {
  it('keys on model, truncate and dimensions exactly as given', () => {
    const keys = [
      embedKey('m', {}), embedKey('m', { truncate: true }), embedKey('m', { truncate: false }),
      embedKey('m', { dimensions: 256 }), embedKey('m', { truncate: true, dimensions: 256 }), embedKey('n', {}),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(digest('abc')).toHaveLength(43);
    expect(digest('abc')).not.toBe(digest('abd'));
  });
});

describe('isCoalescible', () => {
  it('coalesces only greedy sampling or a fixed seed', () => {
    expect(isCoalescible({ temperature: 0 })).toBe(true);
    expect(isCoalescible({ temperature: 0.7, seed: 42 })).toBe(true);
    expect(isCoalescible({ seed: 0 })).toBe(true);
    expect(isCoalescible({})).toBe(false);
    expect(isCoalescible({ temperature: 0.7 })).toBe(false);
    expect(isCoalescible({ temperature: 1e-9, top_k: 1 })).toBe(false);
    expect(isCoalescible({ temperature: 0.7, seed: -1 })).toBe(false);
  });
});
