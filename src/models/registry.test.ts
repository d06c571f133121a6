import { describe, expect, it } from 'vitest';
import { modelSchema } from '../config/schema.js';
import type { Backend } from '../backends/backend.js';
import type { ModelEntry } from './model-entry.js';
import { loadIdentity } from './registry.js';

/** An entry as a registry builds it; each call builds new objects, as two replicas (or a reload) would. */
function entry(config: Record<string, unknown> = {}, upstream = 'nomic-embed-text:latest', backend = 'gpu1'): ModelEntry {
  return { name: 'embed', upstream, backend: { name: backend } as Backend, config: { ...modelSchema.parse(config), parallel: 1 }, discovered: false };
}

describe("a model's load identity (what the shared embedding cache keys on)", () => {
  it('is the same for the same settings built apart, whatever the order of the keys', () => {
    expect(loadIdentity(entry({ pin: { num_ctx: 8192, num_batch: 512 } }))).toBe(loadIdentity(entry({ pin: { num_batch: 512, num_ctx: 8192 } })));
  });

  it('ignores what changes no load: aliases, keep-alive, client unloads, preload', () => {
    expect(loadIdentity(entry({ aliases: ['e'], keep_alive: '5m', allow_client_unload: true, preload: true }))).toBe(loadIdentity(entry()));
  });

  it('differs when the backend, the name there, or a load setting differs', () => {
    const base = loadIdentity(entry());
    expect(loadIdentity(entry({}, 'mxbai-embed-large:latest'))).not.toBe(base);
    expect(loadIdentity(entry({}, undefined, 'gpu2'))).not.toBe(base);
    expect(loadIdentity(entry({ pin: { num_ctx: 2048 } }))).not.toBe(base);
  });
});
