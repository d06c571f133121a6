/**
 * Placement across hosts (issue 15): a gateway process in front of scripted Ollama daemons
 * on loopback, each with its own VRAM, driven by the real `ollama` client. A request goes
 * where its model is resident, else where it fits without evicting, else where evicting
 * costs least (an idle model, never a busy one); a burst loads a model once, on one host,
 * unless the model's `replicas` allows more copies. Loads and streams are held with the
 * daemons' knobs; nothing waits on time (`max_hold_ms` is out of reach).
 */
import { Ollama } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { ask, entriesOf, GB, Hosts, longPrompt, ollamaStream, PATIENT, queuedFor, type HostsConfig } from '../support/hosts.js';
import { gatewayStatus, requestRecords, until } from '../support/records.js';

const M = 'llama3.1:8b';

const hosts = new Hosts();
afterEach(() => hosts.close());

/** The host of each whole (not streamed) `/api/chat` reply, in the order they ended. */
async function chatHosts(): Promise<Array<string | undefined>> {
  return (await requestRecords(hosts.url)).filter((r) => r.route === '/api/chat' && !r.stream).reverse().map((r) => r.backend);
}

const [X, Y, Z] = ['qwen3:14b', 'gemma3:12b', 'mistral:7b'];

/** Two hosts of 16 GB: X served by a alone, Y by b alone, Z by both (a listed first). */
function startXYZ(sizes: { X: number; Y: number; Z: number }): Promise<Hosts> {
  const model = (name: string, size: number) => ({ name, size });
  return hosts.start({
    a: { vram: 16 * GB, models: [model(X, sizes.X), model(Z, sizes.Z)] },
    b: { vram: 16 * GB, models: [model(Y, sizes.Y), model(Z, sizes.Z)] },
  }, { models: { [X]: { backends: ['a'] }, [Y]: { backends: ['b'] }, [Z]: { backends: ['a', 'b'] } }, scheduler: PATIENT });
}

describe('placement', () => {
  it.each([
    ['listed under models.M.backends', { models: { [M]: { backends: ['a', 'b', 'c'] } } }],
    ['discovered on every daemon, nothing configured', { backend: { discover: true } }],
  ] satisfies Array<[string, HostsConfig]>)('serves a model from the host where it is resident (%s), though others have more room now', async (_, config) => {
    // b, neither first nor last, has the most room.
    const host = (vram: number) => ({ vram, models: [{ name: M, size: 8 * GB }] });
    await hosts.start({ a: host(20 * GB), b: host(24 * GB), c: host(20 * GB) }, { ...config, scheduler: PATIENT });
    expect((await new Ollama({ host: hosts.url }).list()).models.map((m) => m.name)).toEqual([M]); // one model, three hosts
    await ask(hosts.url, M, 'first'); // cold: b has the most room
    await ask(hosts.url, M, 'second'); // warm on b, where 16 GB are free now against 20 on a and c
    expect(hosts.loadsOf(M)).toEqual({ a: 0, b: 1, c: 0 });
    expect(await chatHosts()).toEqual(['b', 'b']);
    const entries = entriesOf(await gatewayStatus(hosts.url), M);
    expect(entries.b).toMatchObject({ state: 'ready' });
    expect([entries.a, entries.c]).toMatchObject([{ state: 'unloaded' }, { state: 'unloaded' }]);
  });

  it('loads a cold model where it fits without evicting, not on the first host listed', async () => {
    await startXYZ({ X: 10 * GB, Y: 4 * GB, Z: 6 * GB });
    await ask(hosts.url, X, 'x');
    await ask(hosts.url, Y, 'y');
    // Z (6.9 GB as estimated) fits beside Y on b (12 GB free), not beside X on a (6 GB free).
    expect((await ask(hosts.url, Z, 'z')).message.content).toBe('You said: z');
    expect(await chatHosts()).toEqual(['a', 'b', 'b']);
    expect([hosts.daemon('a').unloads, hosts.daemon('b').unloads]).toEqual([[], []]);
    expect((await gatewayStatus(hosts.url)).counters.evictions).toBe(0);
    expect(hosts.daemon('a').resident().map((m) => m.name)).toEqual([X]);
  });

  it('when every host is full, evicts where it costs least: an idle model, not a busy one', async () => {
    await startXYZ({ X: 10 * GB, Y: 12 * GB, Z: 8 * GB });
    await ask(hosts.url, Y, 'y'); // idle on b from now on
    hosts.holdStreams();
    const busy = await hosts.firstOnHost(() => ollamaStream(hosts.url, X, longPrompt('x'))); // busy on a
    expect(busy.host).toBe('a');
    // Z (9.2 GB as estimated) fits on neither: a has more room (6 GB) but only a busy model to evict.
    expect((await ask(hosts.url, Z, 'z')).message.content).toBe('You said: z');
    expect(await chatHosts()).toEqual(['b', 'b']);
    expect([hosts.daemon('a').unloads, hosts.daemon('b').unloads]).toEqual([[], [Y]]);
    expect((await gatewayStatus(hosts.url)).counters.evictions).toBe(1);
    hosts.gate('a').open();
    const { parts, error } = await busy.value.rest();
    expect(error).toBeUndefined();
    expect(parts.at(-1)).toMatchObject({ done: true });
  });
});

describe('warmth', () => {
  const three = (size: number) => Object.fromEntries(['a', 'b', 'c'].map((name) => [name, { vram: 24 * GB, models: [{ name: M, size }] }]));

  it('a burst for a cold model loads it once, on one host, and serves every request there', async () => {
    await hosts.start(three(8 * GB), { models: { [M]: { backends: ['a', 'b', 'c'] } }, scheduler: PATIENT });
    const held = hosts.names.map((name) => hosts.daemon(name).holdLoads(M));
    const burst = Array.from({ length: 6 }, (_, i) => ask(hosts.url, M, `q${i}`));
    await Promise.race(held);
    await until(() => gatewayStatus(hosts.url), (s) => queuedFor(s, M) === 6);
    for (const name of hosts.names) hosts.daemon(name).releaseLoads(M);
    expect((await Promise.all(burst)).map((r) => r.message.content)).toEqual(Array.from({ length: 6 }, (_, i) => `You said: q${i}`));
    const loads = Object.entries(hosts.loadsOf(M)).filter(([, n]) => n > 0);
    expect(loads).toHaveLength(1);
    expect(loads[0][1]).toBe(1);
    expect(new Set(await chatHosts())).toEqual(new Set([loads[0][0]]));
    expect((await gatewayStatus(hosts.url)).counters.loads).toBe(1);
  });

  it('with replicas: 2, a second copy starts on another host while the first is busy, and no third', async () => {
    await hosts.start(three(8 * GB), { models: { [M]: { backends: ['a', 'b', 'c'], replicas: 2, parallel: 1 } }, scheduler: PATIENT });
    hosts.holdStreams();
    const first = await hosts.firstOnHost(() => ollamaStream(hosts.url, M, longPrompt('one')));
    const second = await hosts.firstOnHost(() => ollamaStream(hosts.url, M, longPrompt('two')));
    expect(second.host).not.toBe(first.host);
    // Both copies busy: the third request waits for one of them.
    const third = ask(hosts.url, M, 'three');
    await until(() => gatewayStatus(hosts.url), (s) => queuedFor(s, M) === 1);
    for (const name of hosts.names) hosts.gate(name).open();
    expect((await third).message.content).toBe('You said: three');
    for (const stream of [first, second]) expect((await stream.value.rest()).parts.at(-1)).toMatchObject({ done: true });
    const copies = new Set([first.host, second.host]);
    expect(hosts.loadsOf(M)).toEqual(Object.fromEntries(hosts.names.map((name) => [name, copies.has(name) ? 1 : 0])));
    expect(copies.has((await chatHosts())[0]!)).toBe(true);
  });
});
