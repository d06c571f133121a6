import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateEvent, GenerateRequest } from '../../src/dialects/canonical.js';
import type { ModelEntry } from '../../src/models/model-entry.js';
import type { RequestRecord } from '../../src/telemetry/record.js';
import { requestRecords, until } from '../support/records.js';
import { ADAPTERS, CHAT, type AdapterRig } from './adapters.js';

/**
 * Issue 5: one contract every backend adapter passes — the embedded worker and llama-server
 * (one process per model) and Ollama (against the scripted daemon). The same tests run on
 * each adapter; `adapters.ts` says how each one is built, checked and crashed. The Backend
 * interface is driven directly (load, generate streamed and not, embed, unload, a crash);
 * the request records are read through the gateway's HTTP surface.
 */

const SHORT = { num_predict: 8, temperature: 0 };

function chatRequest(entry: ModelEntry, stream: boolean, content = 'Say hello.', sampling = SHORT): GenerateRequest {
  return { kind: 'chat', model: entry.name, messages: [{ role: 'user', content }], stream, sampling };
}

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

/** Canonical events: at least one delta, then exactly one `done`, last, with usage and timings. */
function expectCanonicalReply(events: GenerateEvent[]): Extract<GenerateEvent, { type: 'done' }> {
  expect(events.length).toBeGreaterThanOrEqual(2);
  const done = events.at(-1)!;
  expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  if (done.type !== 'done') throw new Error(`the last event is ${done.type}, not done`);
  const deltas = events.slice(0, -1);
  for (const d of deltas) expect(d.type).toBe('delta');
  expect(['stop', 'length']).toContain(done.finishReason);
  expect(done.usage.promptTokens).toBeGreaterThan(0);
  expect(done.usage.completionTokens).toBeGreaterThan(0);
  expect(done.timings.promptMs).toBeTypeOf('number');
  expect(done.timings.promptMs!).toBeGreaterThanOrEqual(0);
  expect(done.timings.genMs).toBeTypeOf('number');
  expect(done.timings.genMs!).toBeGreaterThan(0);
  return done;
}

async function isRunning(rig: AdapterRig, entry: ModelEntry): Promise<boolean> {
  return (await rig.backend.running()).some((m) => [entry.name, entry.upstream].includes(m.name) || m.model === entry.upstream);
}

/** Loads the model through the backend unless the backend already runs it. */
async function ensureLoaded(rig: AdapterRig, entry: ModelEntry): Promise<void> {
  if (!(await isRunning(rig, entry))) await rig.backend.load(entry, { signal: AbortSignal.timeout(300_000) });
}

describe.each(ADAPTERS)('backend contract: $name', (harness) => {
  let rig: AdapterRig;
  const signal = () => AbortSignal.timeout(300_000);

  beforeAll(async () => {
    rig = await harness.start();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('load resolves once the model can serve, with its memory measured', async () => {
    const { measured } = await rig.backend.load(rig.chat, { signal: signal() });
    expect(measured, 'load reports the measured footprint').toBeDefined();
    expect(measured!.ram + measured!.gpu).toBeGreaterThan(0);
    await rig.serving(rig.chat);
    expect(await isRunning(rig, rig.chat)).toBe(true);
  });

  it('answers a non-streamed chat with a reply, then one done event carrying usage and timings', async () => {
    await ensureLoaded(rig, rig.chat);
    const events = await collect(rig.backend.generate(rig.chat, chatRequest(rig.chat, false), signal()));
    expectCanonicalReply(events);
    expect(events.filter((e) => e.type === 'delta').map((e) => (e as { content: string }).content).join('').length).toBeGreaterThan(0);
  });

  it('streams a chat as deltas as they are generated, then one done event carrying usage and timings', async () => {
    await ensureLoaded(rig, rig.chat);
    const events = await collect(rig.backend.generate(rig.chat, chatRequest(rig.chat, true), signal()));
    const done = expectCanonicalReply(events);
    // Streamed, not collected whole: more than one delta for a reply of several tokens.
    if (done.usage.completionTokens > 1) expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThan(1);
  });

  it("embeds a batch of inputs into vectors of the embedding model's width", async () => {
    await rig.backend.load(rig.emb, { signal: signal() });
    await rig.serving(rig.emb);
    const result = await rig.backend.embed(rig.emb, { model: rig.emb.name, input: ['the first passage', 'a second, different passage'] }, signal());
    expect(result.embeddings).toHaveLength(2);
    for (const v of result.embeddings) {
      expect(v).toHaveLength(rig.embeddingWidth);
      for (const x of v) expect(Number.isFinite(x)).toBe(true);
    }
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.promptTokens).toBeGreaterThan(0);
  });

  it("answers embeddings from a chat-only model with a clear error, as the backend's own reply", async () => {
    await ensureLoaded(rig, rig.chat);
    const err = await rig.backend.embed(rig.chat, { model: rig.chat.name, input: ['not for a chat model'] }, signal()).then(() => undefined, (e: unknown) => e);
    // `replied`: the backend answered (it is alive), so it is passed on as is, not taken for a crash.
    expect(err).toMatchObject({ replied: true, message: expect.stringMatching(/does not support embeddings/i) });
    expect(await isRunning(rig, rig.chat)).toBe(true);
  });

  it('unload stops each model: gone at the backend, no longer listed as running', async () => {
    await ensureLoaded(rig, rig.chat);
    await ensureLoaded(rig, rig.emb);
    const chat = await rig.serving(rig.chat);
    const emb = await rig.serving(rig.emb);
    await rig.backend.unload(rig.chat);
    expect(await chat.gone()).toBe(true);
    expect(await emb.gone(), 'unloading one model leaves the other').toBe(false);
    await rig.backend.unload(rig.emb);
    expect(await emb.gone()).toBe(true);
    expect(await isRunning(rig, rig.chat)).toBe(false);
    expect(await isRunning(rig, rig.emb)).toBe(false);
  });

  it('a crash while streaming fails the request in flight, is reported, and the model loads again after it', async () => {
    await ensureLoaded(rig, rig.chat);
    const reported = rig.crash.reported?.(rig.chat);
    rig.crash.arm(rig.chat);
    try {
      const stream = rig.backend.generate(rig.chat, chatRequest(rig.chat, true, 'tell me a long story', { num_predict: 1000, temperature: 0 }), signal());
      const it = stream[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      expect(first.value.type).toBe('delta');
      rig.crash.strike(rig.chat);
      const rest: GenerateEvent[] = [];
      const failure = await (async () => {
        for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
      })().then(() => undefined, (err: unknown) => err);
      expect(failure, 'the stream fails instead of ending').toBeInstanceOf(Error);
      expect(failure).toMatchObject({ code: rig.crash.code });
      expect(rest.some((e) => e.type === 'done'), 'no done event after the crash').toBe(false);
      if (reported) expect(await reported).toBe(rig.chat.name);
    } finally {
      rig.crash.disarm();
    }
    // Recovered: the model loads again and answers.
    await ensureLoaded(rig, rig.chat);
    await rig.serving(rig.chat);
    expectCanonicalReply(await collect(rig.backend.generate(rig.chat, chatRequest(rig.chat, false), signal())));
  });

  it("records a chat's prompt_ms, gen_ms and gen_tokens through the gateway, streamed and not", async () => {
    const ollama = new Ollama({ host: rig.url });
    const reply = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'Say hello.' }], stream: false, options: SHORT });
    expect(reply.done).toBe(true);
    const plain = (await requestRecords(rig.url)).find((r) => r.route === '/api/chat' && !r.stream);
    expect(plain).toMatchObject({ model: CHAT, status: 200, backend: rig.backend.name });
    expect(plain!.error).toBeUndefined();

    let parts = 0;
    for await (const part of await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'Say hello again.' }], stream: true, options: SHORT })) {
      parts++;
      if (part.done) expect(part.eval_count).toBeGreaterThan(0);
    }
    expect(parts).toBeGreaterThan(1);
    // The client stops reading at its `done` line; the gateway finishes the record when the
    // backend's stream ends, a moment later.
    const streamedRecord = (records: RequestRecord[]) => records.find((r) => r.route === '/api/chat' && r.stream);
    const streamed = streamedRecord(await until(() => requestRecords(rig.url), (records) => streamedRecord(records) !== undefined));
    expect(streamed).toMatchObject({ model: CHAT, status: 200, backend: rig.backend.name });
    expect(streamed!.error).toBeUndefined();

    for (const r of [plain!, streamed!]) {
      expect(r.prompt_ms).toBeTypeOf('number');
      expect(r.prompt_ms!).toBeGreaterThanOrEqual(0);
      expect(r.gen_ms).toBeTypeOf('number');
      expect(r.gen_ms!).toBeGreaterThan(0);
      expect(r.gen_tokens).toBeGreaterThan(0);
      expect(r.prompt_tokens).toBeGreaterThan(0);
    }
    expect(streamed!.ttft_ms).toBeTypeOf('number');
  });
});
