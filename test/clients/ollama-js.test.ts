import { Ollama, type ChatResponse, type GenerateResponse } from 'ollama';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Turnstile } from '../fakes/turnstile.js';
import { CHAT, CHAT_CONTEXT, EMBED, EMBED_DIMS, echo, expectRecord, startHarness, upstreamEmbed, upstreamLegacyEmbedding, type ClientHarness } from './client-harness.js';
import { requestRecords } from '../support/records.js';

/**
 * The real `ollama` npm client (0.6.x, what AnythingLLM and LangChain use) against the
 * gateway in front of the scripted Ollama daemon.
 */
describe('the ollama npm client through the gateway', () => {
  let h: ClientHarness;
  let ollama: Ollama;

  beforeAll(async () => {
    h = await startHarness();
    ollama = new Ollama({ host: h.url });
  });

  afterEach(() => {
    h.upstream.errorMidStream = undefined;
    h.upstream.streamGate?.open();
    h.upstream.streamGate = undefined;
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('chat', () => {
    it('returns the whole reply with Ollama metrics when stream is false', async () => {
      const reply = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'hello there' }], stream: false });
      expect(reply.model).toBe(CHAT);
      expect(reply.message).toMatchObject({ role: 'assistant', content: echo('hello there') });
      expect(reply.done).toBe(true);
      expect(reply.done_reason).toBe('stop');
      expect(reply.prompt_eval_count).toBe(2);
      expect(reply.eval_count).toBe(4);
      expect(reply.total_duration).toBeGreaterThan(0);

      const record = await expectRecord(h.url, '/api/chat', CHAT);
      expect(record.stream).toBe(false);
    });

    it('streams the reply token by token and ends with a done object carrying the metrics', async () => {
      const stream = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'stream me please' }], stream: true });
      const parts: ChatResponse[] = [];
      for await (const part of stream) parts.push(part);

      expect(parts.length).toBeGreaterThan(2);
      expect(parts.map((p) => p.message.content).join('')).toBe(echo('stream me please'));
      expect(parts.slice(0, -1).every((p) => p.done === false)).toBe(true);
      const last = parts[parts.length - 1];
      expect(last).toMatchObject({ model: CHAT, done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 5 });

      const records = await requestRecords(h.url);
      expect(records.find((r) => r.route === '/api/chat' && r.stream && r.status === 200)).toMatchObject({ model: CHAT, gen_tokens: 5 });
    });
  });

  describe('generate', () => {
    it('returns the whole response when stream is false', async () => {
      const reply = await ollama.generate({ model: CHAT, prompt: 'why is the sky blue', stream: false });
      expect(reply).toMatchObject({ model: CHAT, response: echo('why is the sky blue'), done: true, done_reason: 'stop', eval_count: 7 });
      await expectRecord(h.url, '/api/generate', CHAT);
    });

    it('streams the response and ends with done: true', async () => {
      const stream = await ollama.generate({ model: CHAT, prompt: 'count to three', stream: true });
      const parts: GenerateResponse[] = [];
      for await (const part of stream) parts.push(part);
      expect(parts.map((p) => p.response).join('')).toBe(echo('count to three'));
      expect(parts[parts.length - 1]).toMatchObject({ done: true, done_reason: 'stop' });
    });
  });

  describe('embeddings', () => {
    it('embeds a single string into one vector equal to what the daemon gives for it', async () => {
      const reply = await ollama.embed({ model: EMBED, input: 'the quick brown fox' });
      expect(reply.embeddings).toHaveLength(1);
      expect(reply.embeddings[0]).toHaveLength(EMBED_DIMS);
      expect(reply.embeddings).toEqual(await upstreamEmbed(h.upstream, ['the quick brown fox']));
      await expectRecord(h.url, '/api/embed', EMBED);
    });

    it('embeds an array of strings into one vector per input, in order', async () => {
      const input = ['first chunk', 'second chunk', 'third chunk'];
      const reply = await ollama.embed({ model: EMBED, input });
      expect(reply.embeddings).toHaveLength(3);
      expect(reply.embeddings).toEqual(await upstreamEmbed(h.upstream, input));
    });

    it('answers the legacy embeddings call with the vector the daemon gives for /api/embeddings', async () => {
      const reply = await ollama.embeddings({ model: EMBED, prompt: 'legacy prompt' });
      expect(reply.embedding).toHaveLength(EMBED_DIMS);
      await expectRecord(h.url, '/api/embeddings', EMBED);
      // Ollama's legacy endpoint returns the raw (not normalized) vector; /api/embed normalizes.
      expect(reply.embedding).toEqual(await upstreamLegacyEmbedding(h.upstream, 'legacy prompt'));
    });
  });

  describe('embedding errors', () => {
    it('passes the daemon\'s 400 through when truncate is false and an input exceeds the context', async () => {
      const long = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
      await expect(ollama.embed({ model: EMBED, input: [long], truncate: false }))
        .rejects.toMatchObject({ status_code: 400, error: expect.stringContaining('exceeds maximum context length') });
    });
  });

  describe('catalog', () => {
    it('lists both models, and show (called for every model at once, as AnythingLLM does) has capabilities and context_length', async () => {
      const list = await ollama.list();
      const names = list.models.map((m) => m.name);
      expect(names).toEqual(expect.arrayContaining([CHAT, EMBED]));

      const shown = await Promise.all(list.models.map((m) => ollama.show({ model: m.name })));
      const byName = new Map(list.models.map((m, i) => [m.name, shown[i]]));
      const chat = byName.get(CHAT)!;
      expect(chat.capabilities).toEqual(['completion']);
      expect((chat.model_info as unknown as Record<string, unknown>)['llama.context_length']).toBe(CHAT_CONTEXT);
      const embed = byName.get(EMBED)!;
      expect(embed.capabilities).toEqual(['embedding']);
      expect((embed.model_info as unknown as Record<string, unknown>)['bert.context_length']).toEqual(expect.any(Number));
    });

    it('ps lists a model the client just used, with a parseable expires_at', async () => {
      await ollama.generate({ model: CHAT, prompt: 'warm up', stream: false });
      const ps = await ollama.ps();
      const running = ps.models.find((m) => m.name === CHAT);
      expect(running).toBeDefined();
      expect(Number.isNaN(new Date(running!.expires_at).getTime())).toBe(false);
    });

    it('reports a version', async () => {
      const { version } = await ollama.version();
      expect(version).toMatch(/^\d+\.\d+\.\d+/);
    });
  });

  describe('errors', () => {
    it('throws a ResponseError with status_code 404 for an unknown model, streamed or not', async () => {
      await expect(ollama.chat({ model: 'no-such-model:latest', messages: [{ role: 'user', content: 'hi' }], stream: false }))
        .rejects.toMatchObject({ name: 'ResponseError', status_code: 404 });
      await expect(ollama.chat({ model: 'no-such-model:latest', messages: [{ role: 'user', content: 'hi' }], stream: true }))
        .rejects.toMatchObject({ status_code: 404 });
      await expect(ollama.embed({ model: 'no-such-embedder', input: 'x' })).rejects.toMatchObject({ status_code: 404 });
      await expect(ollama.show({ model: 'no-such-model' })).rejects.toMatchObject({ status_code: 404 });
      // A name that resolves to nothing leaves the record without a model.
      const records = await requestRecords(h.url);
      expect(records.find((r) => r.route === '/api/chat' && r.status === 404)).toMatchObject({ error_code: 'WG_MODEL_NOT_FOUND' });
    });

    it('throws while iterating when the daemon sends an {"error"} line after status 200', async () => {
      h.upstream.errorMidStream = { afterChunks: 2, message: 'llama runner process has terminated' };
      const stream = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'this reply will break midway' }], stream: true });
      const seen: string[] = [];
      await expect((async () => {
        for await (const part of stream) seen.push(part.message.content);
      })()).rejects.toThrow('llama runner process has terminated');
      expect(seen.join('')).toBe('You said:');
    });
  });

  describe('keep_alive and cancellation', () => {
    it('ignores a client keep_alive: 0 on a chat by default: the model stays resident', async () => {
      const reply = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'then unload' }], stream: false, keep_alive: 0 });
      expect(reply.message.content).toBe(echo('then unload'));
      expect(h.upstream.resident().map((m) => m.name)).toContain(CHAT);

      const sent = h.upstream.requests.filter((r) => r.path === '/api/chat').at(-1)!.body as { keep_alive?: unknown };
      expect(sent.keep_alive).not.toBe(0);
      const record = (await requestRecords(h.url)).find((r) => r.route === '/api/chat' && r.overrides?.keep_alive);
      expect(record?.overrides?.keep_alive).toMatchObject({ sent: 0 });
    });

    it('answers the Open WebUI unload (empty generate with keep_alive: 0) as a load and keeps the model resident', async () => {
      const reply = await ollama.generate({ model: CHAT, prompt: '', keep_alive: 0, stream: false });
      expect(reply).toMatchObject({ done: true, done_reason: 'load' });
      expect(h.upstream.resident().map((m) => m.name)).toContain(CHAT);
      expect(h.upstream.unloads).not.toContain(CHAT);
    });

    it('abort() of a streaming chat aborts the upstream request', async () => {
      const gate = new Turnstile();
      h.upstream.streamGate = gate;
      gate.allow(1);
      const before = h.upstream.requests.length;
      const stream = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'a long answer that will be cut' }], stream: true });
      const upstreamCall = h.upstream.requests.slice(before).find((r) => r.path === '/api/chat');
      expect(upstreamCall).toBeDefined();

      const it = stream[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value?.message.content).toBe('You');
      stream.abort();
      await expect(it.next()).rejects.toThrow();

      await expect(upstreamCall!.outcome).resolves.toBe('aborted');
    });
  });
});
