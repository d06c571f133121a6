import { createHash, timingSafeEqual } from 'node:crypto';

export type KeyScope = 'inference' | 'admin';

/** What clients send when they were given no key (`Bearer null`, `Bearer `, the OpenAI SDK's placeholder...): no key. */
const NO_KEY = new Set(['', 'null', 'undefined', 'sk-no-key', 'sk-no-key-required']);

/**
 * The configured API keys, held as SHA-256 digests. A presented key is hashed too and
 * compared against every digest with `timingSafeEqual`: equal-length inputs, no early exit,
 * so the time taken says nothing about how much of a key was right, nor which key matched.
 */
export class KeyRing {
  readonly #keys: Array<{ digest: Buffer; scope: KeyScope }>;

  constructor(keys: ReadonlyArray<{ key: string; scope: KeyScope }>) {
    this.#keys = keys.map((k) => ({ digest: digest(k.key), scope: k.scope }));
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The scope a presented key opens (admin if it is configured twice), or undefined when it is no configured key. */
  scopeOf(presented: string): KeyScope | undefined {
    const d = digest(presented);
    let scope: KeyScope | undefined;
    for (const k of this.#keys) {
      if (timingSafeEqual(d, k.digest) && scope !== 'admin') scope = k.scope;
    }
    return scope;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The key a request carries: `Authorization: Bearer <key>`, else `x-api-key: <key>`.
 * Placeholders that mean "no key" count as none; another scheme (`Basic ...`) is not a key.
 */
export function presentedKey(authorization: string | undefined, xApiKey: string | undefined): string | undefined {
  const bearer = /^\s*bearer(?:\s+(.*))?$/i.exec(authorization ?? '');
  const fromAuth = bearer ? (bearer[1] ?? '').trim() : undefined;
  if (fromAuth !== undefined && !NO_KEY.has(fromAuth.toLowerCase())) return fromAuth;
  const fromHeader = xApiKey?.trim();
  if (fromHeader !== undefined && !NO_KEY.has(fromHeader.toLowerCase())) return fromHeader;
  return undefined;
}
