/**
 * Request identity for coalescing and caching. Two requests may share one upstream call
 * only when their keys are equal, and keys are equal only when the JSON bodies are equal
 * field for field: object key order is the one difference that is ignored.
 */
import { createHash } from 'node:crypto';
import type { EmbedRequest, SamplingOptions } from '../dialects/canonical.js';

/** The options of an embedding request that change the vectors it returns. */
export type EmbedOptions = Pick<EmbedRequest, 'truncate' | 'dimensions'>;

/**
 * Canonical JSON text of a JSON value: object keys sorted by code unit, recursively;
 * arrays in their order; numbers and strings exactly as JSON.stringify writes them.
 * Like JSON.stringify, object keys whose value is undefined are left out and undefined
 * array items become null, so the text identifies the body a client would have sent.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((name) => record[name] !== undefined)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Key of a request: the gateway's model name plus the canonical body (every field counts). */
export function requestKey(model: string, body: unknown): string {
  return canonicalJson([model, body]);
}

/**
 * Key of the vectors a model returns under some options. Only `truncate` and `dimensions`
 * enter it, exactly as given: an absent `truncate` is not assumed to equal the backend's
 * default, since that default depends on the backend.
 */
export function embedKey(model: string, opts: EmbedOptions): string {
  return canonicalJson([model, opts.truncate, opts.dimensions]);
}

/** A short fixed-size stand-in for long text (SHA-256, base64url, 43 characters). */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * Whether identical generations may share one upstream call: only when the output is
 * fixed by the request, i.e. greedy sampling (temperature 0) or a fixed seed. A negative
 * seed means "random" to both Ollama and llama-server, so it does not count as fixed.
 */
export function isCoalescible(sampling: SamplingOptions): boolean {
  const { temperature, seed } = sampling;
  return temperature === 0 || (seed !== undefined && Number.isInteger(seed) && seed >= 0);
}
