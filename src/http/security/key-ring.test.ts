import * as crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { KeyRing, presentedKey } = await import('./key-ring.js');

const ADMIN = 'admin-key-0123456789abcdef';
const INFER = 'inference-key-0123456789ab';

describe('KeyRing', () => {
  afterEach(() => vi.mocked(crypto.timingSafeEqual).mockClear());

  it('finds the scope of a configured key and nothing for another', () => {
    const ring = new KeyRing([{ key: ADMIN, scope: 'admin' }, { key: INFER, scope: 'inference' }]);
    expect(ring.scopeOf(ADMIN)).toBe('admin');
    expect(ring.scopeOf(INFER)).toBe('inference');
    expect(ring.scopeOf(`${ADMIN}x`)).toBeUndefined();
    expect(ring.scopeOf(ADMIN.slice(0, -1))).toBeUndefined();
    expect(ring.scopeOf('')).toBeUndefined();
    expect(ring.scopeOf('x'.repeat(10_000))).toBeUndefined();
  });

  it('a key configured with both scopes opens admin', () => {
    expect(new KeyRing([{ key: ADMIN, scope: 'inference' }, { key: ADMIN, scope: 'admin' }]).scopeOf(ADMIN)).toBe('admin');
  });

  it('compares in constant time: SHA-256 digests of equal length, through timingSafeEqual, every key every time', () => {
    const keys = [{ key: ADMIN, scope: 'admin' as const }, { key: INFER, scope: 'inference' as const }, { key: 'third-key-0123456789abcd', scope: 'inference' as const }];
    const ring = new KeyRing(keys);
    const compare = vi.mocked(crypto.timingSafeEqual);
    // The first key matching, the last, none, one of another length: the same comparisons each time.
    for (const presented of [ADMIN, keys[2].key, 'wrong', 'w'.repeat(300)]) {
      compare.mockClear();
      ring.scopeOf(presented);
      expect(compare, presented).toHaveBeenCalledTimes(keys.length);
      for (const [a, b] of compare.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
  });

  it('does not keep the keys themselves, only their digests', () => {
    const ring = new KeyRing([{ key: ADMIN, scope: 'admin' }]);
    expect(JSON.stringify(ring)).not.toContain(ADMIN);
    expect(String(Object.values(ring))).not.toContain(ADMIN);
  });
});

describe('presentedKey', () => {
  it('reads Authorization: Bearer, then x-api-key', () => {
    expect(presentedKey(`Bearer ${ADMIN}`, undefined)).toBe(ADMIN);
    expect(presentedKey(`bearer   ${ADMIN} `, undefined)).toBe(ADMIN);
    expect(presentedKey(undefined, ADMIN)).toBe(ADMIN);
    expect(presentedKey(`Bearer ${ADMIN}`, INFER)).toBe(ADMIN);
  });

  it('treats what keyless clients send as no key', () => {
    for (const auth of ['Bearer null', 'Bearer ', 'Bearer', 'Bearer sk-no-key', 'Bearer sk-no-key-required', 'Bearer undefined', 'Bearer NULL']) {
      expect(presentedKey(auth, undefined), auth).toBeUndefined();
    }
    expect(presentedKey(undefined, 'null')).toBeUndefined();
    expect(presentedKey(undefined, '')).toBeUndefined();
    expect(presentedKey('Bearer null', INFER)).toBe(INFER);
  });

  it('ignores other schemes', () => {
    expect(presentedKey('Basic dXNlcjpwYXNz', undefined)).toBeUndefined();
    expect(presentedKey(ADMIN, undefined)).toBeUndefined();
  });
});
