import { describe, expect, it } from 'vitest';
import { modelSchema } from '../config/schema.js';
import type { Backend } from '../backends/backend.js';
import type { ModelEntry } from './model-entry.js';
import { validateConfig } from '../config/load.js';
import { loadIdentity, ModelRegistry } from './registry.js';

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

/** A discovering daemon whose catalog the test sets (`listing`); unreachable when `down`. */
function daemon(name: string, listing: string[], kind: Backend['kind'] = 'ollama') {
  const backend = { name, kind, listing, down: false, catalog: async () => {
    if (backend.down) throw new Error(`${name} is unreachable`);
    return backend.listing.map((m) => ({ name: m, model: m }));
  } };
  return backend;
}

function registryOver(...daemons: Array<ReturnType<typeof daemon>>): ModelRegistry {
  const config = validateConfig({ backends: Object.fromEntries(daemons.map((d) => [d.name, { kind: d.kind, url: 'http://127.0.0.1:1' }])), models: {} }, 'test');
  return new ModelRegistry(config, new Map(daemons.map((d) => [d.name, d as unknown as Backend])));
}

describe('a model several daemons list', () => {
  it('is one model served by each daemon that lists it, and keeps its entry while they keep listing it', async () => {
    const [a, b] = [daemon('a', ['chat:latest', 'embed:latest']), daemon('b', ['chat:latest'])];
    const registry = registryOver(a, b);
    const chat = (await registry.resolve('chat'))!;
    expect(chat.hosts?.map((h) => [h.backend.name, h.copyOf])).toEqual([['a', 'chat:latest'], ['b', 'chat:latest']]);
    expect((await registry.resolve('embed'))!.hosts).toBeUndefined();
    await registry.refresh();
    expect(await registry.resolve('chat')).toBe(chat);
  });

  it('is served by one daemon again when the other stops listing it, and by both when it lists it again', async () => {
    const [a, b] = [daemon('a', ['chat:latest']), daemon('b', ['chat:latest'])];
    const registry = registryOver(a, b);
    b.listing = [];
    await registry.refresh();
    const alone = (await registry.resolve('chat'))!;
    expect([alone.hosts, alone.copyOf, alone.backend.name]).toEqual([undefined, undefined, 'a']);
    b.listing = ['chat:latest'];
    await registry.refresh();
    expect((await registry.resolve('chat'))!.hosts?.length).toBe(2);
  });

  it("keeps an unreachable daemon's copy (it may be back), and never mixes backends of two kinds", async () => {
    const [a, b, w] = [daemon('a', ['chat:latest']), daemon('b', ['chat:latest']), daemon('w', ['chat:latest'], 'warmgate')];
    const registry = registryOver(a, b, w);
    await registry.refresh();
    b.down = true;
    await registry.refresh();
    expect((await registry.resolve('chat'))!.hosts?.map((h) => h.backend.name)).toEqual(['a', 'b']);
  });
});
