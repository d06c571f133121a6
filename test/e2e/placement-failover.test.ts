/**
 * Hosts that fail, with placement across them (issue 15): a gateway process in front of
 * scripted Ollama daemons on loopback. A host whose daemon stops answering is taken out by
 * its breaker and the requests queued for it are served by another host; it is used again
 * once a probe passes. A host killed mid-burst cuts only the streams it was sending (each
 * ends with its dialect's error line); every other request of the burst is answered by the
 * other hosts. Held loads and gated streams set the scene; `until` waits, nothing sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ask, entriesOf, GB, Hosts, longPrompt, ollamaStream, PATIENT, queuedFor } from '../support/hosts.js';
import { gatewayStatus, requestRecords, until } from '../support/records.js';

const hosts = new Hosts();
afterEach(() => hosts.close());

const breakerOf = async (name: string) => (await gatewayStatus(hosts.url)).backends.find((b) => b.name === name)!.breaker!;

/** A streamed OpenAI chat (SSE) read to its first piece; `rest()` is the whole body from there. */
async function openaiStream(url: string, model: string, text: string): Promise<{ rest(): Promise<string> }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: text }] }),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let body = decoder.decode((await reader.read()).value, { stream: true });
  return {
    rest: async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) body += decoder.decode(r.value, { stream: true });
      return body;
    },
  };
}

describe('a host whose daemon stops answering', () => {
  it('is taken out after 3 failures, its queued requests are served by another host, and it is used again once a probe passes', async () => {
    const M = 'llama3.1:8b';
    const N = 'qwen3:8b';
    const models = [{ name: M, size: 8 * GB }, { name: N, size: 8 * GB }];
    await hosts.start({ a: { vram: 24 * GB, models }, b: { vram: 20 * GB, models } }, {
      models: { [M]: { backends: ['a', 'b'], parallel: 1 }, [N]: { backends: ['a', 'b'] } },
      // While its one copy in use streams, nothing else reaches a: the failures are
      // reconciliation's /api/ps calls, made because a could hold N (an unloaded copy).
      // With N on b alone, a is never asked and its waiters wait for the stream to end.
      scheduler: { ...PATIENT, reconcile_s: 0.05 },
      backend: { breaker: { failures: 3, open_s: 0.05, max_open_s: 0.1 } },
    });
    hosts.holdStreams();
    const running = await hosts.firstOnHost(() => ollamaStream(hosts.url, M, longPrompt('running')));
    expect(running.host).toBe('a'); // the most room
    const waiting = [ask(hosts.url, M, 'w1'), ask(hosts.url, M, 'w2')];
    await until(() => gatewayStatus(hosts.url), (s) => entriesOf(s, M).a?.queued === 2);

    hosts.daemon('a').resetRequests = true;
    await until(() => breakerOf('a'), (b) => b.state !== 'closed');
    expect(await breakerOf('a')).toMatchObject({ failures: 3, opens: 1 });
    expect((await Promise.all(waiting)).map((r) => r.message.content)).toEqual(['You said: w1', 'You said: w2']);
    const whole = (await requestRecords(hosts.url)).filter((r) => r.route === '/api/chat' && !r.stream);
    expect(whole.map((r) => r.backend)).toEqual(['b', 'b']);
    expect(hosts.loadsOf(M)).toEqual({ a: 1, b: 1 });
    // The breaker gates calls, not replies: the stream already flowing on a ends whole.
    hosts.gate('a').open();
    const { parts, error } = await running.value.rest();
    expect(error).toBeUndefined();
    expect(parts.at(-1)).toMatchObject({ done: true });

    hosts.daemon('a').resetRequests = false;
    await until(() => breakerOf('a'), (b) => b.state === 'closed');
    expect(hosts.daemon('a').requests.map((r) => r.path)).toContain('/api/version'); // the probe that passed
    // A cold model goes to the host with the most room again: a (back) rather than b.
    expect((await ask(hosts.url, N, 'after')).message.content).toBe('You said: after');
    expect(hosts.loadsOf(N)).toEqual({ a: 1, b: 0 });
  });
});

describe('a host killed mid-burst', () => {
  it('ends its streams with the clean error line; every other request is answered by the other hosts; it serves again once back', async () => {
    const names = ['llama3.1:8b', 'qwen3:8b', 'mistral:7b', 'gemma3:4b'];
    const models = names.map((name) => ({ name, size: 8 * GB }));
    const [A, B, C, D] = names;
    await hosts.start(Object.fromEntries(['a', 'b', 'c'].map((host) => [host, { vram: 24 * GB, models }])), {
      models: Object.fromEntries(names.map((name) => [name, { backends: ['a', 'b', 'c'], parallel: 2 }])),
      scheduler: PATIENT,
      backend: { breaker: { failures: 2, open_s: 0.05, max_open_s: 0.1 } },
    });
    // Each model warm on a host of its own (each goes where there is the most room).
    const home: Record<string, string> = {};
    for (const model of [A, B, C]) {
      await ask(hosts.url, model, 'warm');
      home[model] = (await requestRecords(hosts.url, 1))[0].backend!;
    }
    expect(new Set(Object.values(home)).size).toBe(3);
    const doomed = home[C];

    hosts.holdStreams();
    // Two streams on the doomed host, one per dialect, each past its first piece.
    const ollama = await hosts.firstOnHost(() => ollamaStream(hosts.url, C, longPrompt('ollama')));
    await until(async () => hosts.gate(doomed).blocked, (n) => n === 1);
    const openai = await hosts.firstOnHost(() => openaiStream(hosts.url, C, longPrompt('openai')));
    expect([ollama.host, openai.host]).toEqual([doomed, doomed]);
    // The burst: streams for A and B (two running and two queued on each home host), and C's whole requests queued behind its two streams.
    const streams = [A, A, A, A, B, B, B, B].map((model, i) => ollamaStream(hosts.url, model, `s${i}`).then((s) => s.rest()));
    const whole = [1, 2, 3].map((i) => ask(hosts.url, C, `c${i}`));
    await until(() => gatewayStatus(hosts.url), (s) => queuedFor(s, A) === 2 && queuedFor(s, B) === 2 && queuedFor(s, C) === 3);

    await hosts.kill(doomed);
    const cut = await ollama.value.rest();
    expect(cut.error?.message).toMatch(new RegExp(`backend ${doomed} closed the connection in the middle of the reply`));
    expect(cut.parts.some((p) => p.done)).toBe(false);
    const sse = await openai.value.rest();
    expect(sse).toMatch(new RegExp(`data: \\{"error":\\{"message":"[^"]*backend ${doomed} closed the connection`));
    expect(sse).not.toContain('data: [DONE]');

    for (const host of hosts.names.filter((h) => h !== doomed)) hosts.gate(host).open();
    for (const { parts, error } of await Promise.all(streams)) {
      expect(error).toBeUndefined();
      expect(parts.at(-1)).toMatchObject({ done: true });
    }
    expect((await Promise.all(whole)).map((r) => r.message.content)).toEqual(['You said: c1', 'You said: c2', 'You said: c3']);
    const served = (await requestRecords(hosts.url)).filter((r) => r.route === '/api/chat' && r.model === C && !r.stream && r.status === 200);
    expect(served.slice(0, 3).map((r) => r.backend)).not.toContain(doomed);

    // Back, empty: the probe closes its breaker, and a cold model goes there (the most room).
    await hosts.restart(doomed);
    await until(() => breakerOf(doomed), (b) => b.state === 'closed');
    await ask(hosts.url, D, 'back');
    expect(hosts.loadsOf(D)[doomed]).toBe(1);
  });
});
