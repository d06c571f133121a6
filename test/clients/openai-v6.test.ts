import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Turnstile } from '../fakes/turnstile.js';
import { CHAT, EMBED, EMBED_DIMS, echo, expectRecord, startHarness, upstreamEmbed, type ClientHarness } from './client-harness.js';
import { requestRecords } from '../support/records.js';

/**
 * The current openai SDK (6.x, what DocsGPT-style clients use) against the gateway's `/v1`
 * surface, in front of the scripted Ollama daemon.
 */
describe('the openai@6 SDK through the gateway', () => {
  let h: ClientHarness;
  let client: OpenAI;

  beforeAll(async () => {
    h = await startHarness();
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'sk-no-key', maxRetries: 0 });
  });

  afterEach(() => {
    h.upstream.streamGate?.open();
    h.upstream.streamGate = undefined;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers a non-streamed chat sent with max_completion_tokens, as DocsGPT sends it', async () => {
    const reply = await client.chat.completions.create({
      model: CHAT, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }], max_completion_tokens: 64,
    });
    expect(reply.choices[0].message.content).toBe(echo('hello there'));
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.usage).toMatchObject({ completion_tokens: 4 });
    await expectRecord(h.url, '/v1/chat/completions', CHAT);
  });

  it('streams a chat with include_usage: the text, one stop, then a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: CHAT, messages: [{ role: 'user', content: 'stream this answer' }], stream: true, stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('')).toBe(echo('stream this answer'));
    expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });

  it('embeds without encoding_format (base64 under the hood) into full-length vectors equal to the daemon\'s', async () => {
    const reply = await client.embeddings.create({ model: EMBED, input: 'what is warmgate' });
    expect(reply.data).toHaveLength(1);
    expect(reply.data[0].embedding).toHaveLength(EMBED_DIMS);
    const [direct] = await upstreamEmbed(h.upstream, ['what is warmgate']);
    expect(reply.data[0].embedding).toEqual(direct.map(Math.fround));
    await expectRecord(h.url, '/v1/embeddings', EMBED);
  });

  it('embeds with encoding_format float into the daemon\'s exact floats', async () => {
    const input = ['alpha', 'beta'];
    const reply = await client.embeddings.create({ model: EMBED, input, encoding_format: 'float' });
    expect(reply.data.map((d) => d.embedding)).toEqual(await upstreamEmbed(h.upstream, input));
  });

  it('lists and retrieves models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining([CHAT, EMBED]));
    const one = await client.models.retrieve('llama3.2');
    expect(one.id).toBe(CHAT);
  });

  it('throws NotFoundError (404) for an unknown model', async () => {
    const chat = client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
    await expect(chat).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(chat).rejects.toMatchObject({ status: 404 });
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const records = await requestRecords(h.url);
    expect(records.find((r) => r.route === '/v1/chat/completions' && r.status === 404)).toBeDefined();
  });

  it('aborting a streamed chat (stream.controller.abort()) aborts the upstream request', async () => {
    const gate = new Turnstile();
    h.upstream.streamGate = gate;
    gate.allow(1);
    const before = h.upstream.requests.length;
    const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'a long answer to cut' }], stream: true });
    const upstreamCall = h.upstream.requests.slice(before).find((r) => r.path === '/api/chat');
    expect(upstreamCall).toBeDefined();

    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    stream.controller.abort();
    await expect(upstreamCall!.outcome).resolves.toBe('aborted');
  });
});
