import { z } from 'zod';

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?$/i;
const FACTORS: Record<string, number> = {
  b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4,
};

/** Parses `500MB`, `8GiB`, `1.5gb` or a plain number of bytes; undefined when malformed. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  const m = SIZE.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * FACTORS[(m[2] ?? 'b').toLowerCase()]);
}

/** A byte size written as a number or a string with a unit (`500MB`, `8GiB`). */
export const bytes = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseBytes(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size like 512MiB, 8GB or a number of bytes, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

const GO_DURATION = /^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Seconds for an Ollama-style keep-alive: a number of seconds or a Go duration; negative = forever. */
export function keepAliveSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const v = value.trim();
  if (v === '0') return 0; // Go's ParseDuration accepts a bare 0, and only that, without a unit
  if (!GO_DURATION.test(v)) return undefined;
  const sign = v.startsWith('-') ? -1 : 1;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const part of v.replace(/^-/, '').matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * units[part[2]];
  }
  return sign * total;
}

/** Ollama's keep_alive: number of seconds, or a Go duration string ("5m", "-1"). `"300"` without a unit is invalid, as in Ollama. */
export const keepAlive = z.union([z.number(), z.string()]).refine((v) => keepAliveSeconds(v) !== undefined, {
  message: 'expected seconds (number, negative = forever) or a Go duration like "5m", "1h30m", "-1m"',
});
