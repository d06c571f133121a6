import { toFloat32Array } from 'openai-v4/core';
import { describe, expect, it } from 'vitest';
import type { GenerateEvent } from './canonical.js';
import { base64Float32, fitDimensions, float32Base64 } from './embedding-vectors.js';
import {
  OpenAIStreamRenderer, openaiChatToCanonical, openaiCompletionToCanonical, openaiEmbeddingsReply, openaiEmbeddingsToCanonical, openaiFinal,
} from './openai.js';
import { openaiChatSchema, openaiCompletionSchema, openaiEmbeddingsSchema } from './openai-schemas.js';

const done: GenerateEvent = { type: 'done', finishReason: 'stop', usage: { promptTokens: 9, completionTokens: 2 }, timings: {} };
const meta = { model: 'gpt-local', id: 'chatcmpl-1', created: 1700000000 };

describe('openai schemas', () => {
  it('keep unknown fields and explain bad content parts', () => {
    expect(openaiChatSchema.parse({ model: 'm', messages: [{ role: 'user', content: 'x' }], user: 'u1', logit_bias: {} })).toMatchObject({ user: 'u1', logit_bias: {} });
    const bad = openaiChatSchema.safeParse({ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] });
    expect(bad.error?.issues[0]).toMatchObject({ path: ['messages', 0, 'content'], message: '0.type: content part type "input_audio" is not supported; use "text" or "image_url"' });
    expect(openaiChatSchema.safeParse({ model: 'm', messages: [] }).error?.issues[0].message).toBe('messages must contain at least one message');
    expect(openaiChatSchema.safeParse({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }).error?.issues[0].message).toBe('only n = 1 is supported');
  });

  it('refuse token-array embedding input and batched prompts with clear messages', () => {
    expect(openaiEmbeddingsSchema.safeParse({ model: 'e', input: [[1, 2], [3]] }).error?.issues[0].message).toBe('input as token arrays is not supported; send text');
    expect(openaiEmbeddingsSchema.safeParse({ model: 'e', input: '' }).error?.issues[0].message).toBe('input must not be empty');
    expect(openaiEmbeddingsSchema.safeParse({ model: 'e', input: 'x', encoding_format: 'int8' }).error?.issues[0].message).toBe('encoding_format must be "float" or "base64"');
    expect(openaiCompletionSchema.safeParse({ model: 'm', prompt: ['a', 'b'] }).error?.issues[0].message).toMatch(/single string/);
  });
});

describe('openai -> canonical', () => {
  it('flattens content parts, maps max_completion_tokens, stop, response_format and tool history', () => {
    const req = openaiChatToCanonical(openaiChatSchema.parse({
      model: 'm', stream: true, stream_options: { include_usage: true }, max_tokens: 10, max_completion_tokens: 20, stop: 'END',
      temperature: 0.1, top_p: 0.9, seed: 1, presence_penalty: 0.5, frequency_penalty: null,
      response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object' } } },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'describe' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } }, { type: 'text', text: 'this' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 'call_9', content: 'ok' },
      ],
    }));
    expect(req).toMatchObject({
      kind: 'chat', stream: true, format: { type: 'object' },
      sampling: { num_predict: 20, stop: ['END'], temperature: 0.1, top_p: 0.9, seed: 1, presence_penalty: 0.5 },
    });
    expect(req.sampling).not.toHaveProperty('frequency_penalty');
    expect(req.messages).toEqual([
      { role: 'user', content: 'describe\nthis', images: ['iVBO'] },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_9', name: 'f', arguments: { x: 1 } }] },
      { role: 'tool', content: 'ok', tool_call_id: 'call_9' },
    ]);
  });

  it('refuses remote image URLs and arguments that are not JSON objects', () => {
    const img = openaiChatSchema.parse({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'https://x/y.png' }] }] });
    expect(() => openaiChatToCanonical(img)).toThrowError(expect.objectContaining({ code: 'WG_BAD_REQUEST' }));
    const args = openaiChatSchema.parse({ model: 'm', messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: '[1]' } }] }] });
    expect(() => openaiChatToCanonical(args)).toThrowError(expect.objectContaining({ code: 'WG_BAD_REQUEST' }));
  });

  it('reads completions as raw prompts and embeddings input as a list', () => {
    expect(openaiCompletionToCanonical(openaiCompletionSchema.parse({ model: 'm', prompt: ['once'], max_tokens: 3, json_mode: 1 })))
      .toMatchObject({ kind: 'completion', prompt: 'once', raw: true, stream: false, sampling: { num_predict: 3 } });
    expect(openaiEmbeddingsToCanonical(openaiEmbeddingsSchema.parse({ model: 'e', input: 'q', dimensions: 64 }))).toEqual({ model: 'e', input: ['q'], dimensions: 64 });
  });
});

describe('OpenAIStreamRenderer', () => {
  it('streams chat chunks: role first, deltas, finish_reason, then usage only when asked', () => {
    const plain = new OpenAIStreamRenderer({ kind: 'chat', ...meta });
    const out = [{ type: 'delta', content: 'Hi' } as const, { type: 'delta', content: '!' } as const, done].flatMap((ev) => plain.chunks(ev));
    const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-local' };
    expect(out).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: '!' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ]);

    const withUsage = new OpenAIStreamRenderer({ kind: 'chat', ...meta, includeUsage: true });
    const chunks = withUsage.chunks(done);
    expect(chunks.map((c) => c.usage)).toEqual([null, null, { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 }]);
    expect(chunks[0]).toMatchObject({ choices: [{ delta: { role: 'assistant', content: '' } }] });
    expect(chunks[2]).toMatchObject({ choices: [] });
  });

  it('streams text completions and maps length, tool calls and thinking', () => {
    const r = new OpenAIStreamRenderer({ kind: 'completion', model: 'm' });
    const [first] = r.chunks({ type: 'delta', content: 'abc' });
    expect(first).toMatchObject({ object: 'text_completion', choices: [{ text: 'abc', index: 0, logprobs: null, finish_reason: null }] });
    expect(String(first.id)).toMatch(/^cmpl-/);
    expect(r.chunks({ ...done, finishReason: 'length' })[0]).toMatchObject({ id: first.id, choices: [{ text: '', finish_reason: 'length' }] });

    const chat = new OpenAIStreamRenderer({ kind: 'chat', model: 'm' });
    const [call] = chat.chunks({ type: 'delta', content: '', thinking: 'hmm', toolCalls: [{ name: 'f', arguments: { a: 1 } }] });
    expect(call).toMatchObject({ choices: [{ delta: { role: 'assistant', reasoning_content: 'hmm', tool_calls: [{ index: 0, type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] } }] });
    expect(chat.chunks(done)[0]).toMatchObject({ choices: [{ finish_reason: 'tool_calls' }] });
  });
});

describe('rendering as llama-server (the worker)', () => {
  const timedDone: GenerateEvent = { ...done, timings: { promptMs: 18, genMs: 40 } };
  const timings = expect.objectContaining({ cache_n: 0, prompt_n: 9, prompt_ms: 18, predicted_n: 2, predicted_ms: 40, predicted_per_second: 50 });

  it('opens a chat stream with the role alone, puts timings on the closing chunks and sends no usage: null', () => {
    const r = new OpenAIStreamRenderer({ kind: 'chat', ...meta, includeUsage: true, llamaServer: true });
    const out = [{ type: 'delta', content: 'Hi' } as const, timedDone].flatMap((ev) => r.chunks(ev));
    const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-local' };
    expect(out).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], timings },
      { ...head, choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 }, timings },
    ]);
  });

  it('adds timings to whole replies and to the end of text completion streams', () => {
    expect(openaiFinal('chat', [{ type: 'delta', content: 'x' }, timedDone], { ...meta, llamaServer: true })).toMatchObject({
      choices: [{ message: { content: 'x' } }], timings,
    });
    const text = new OpenAIStreamRenderer({ kind: 'completion', model: 'm', llamaServer: true });
    expect(text.chunks({ type: 'delta', content: 'a' })).toHaveLength(1);
    expect(text.chunks(timedDone)).toEqual([expect.objectContaining({ choices: [expect.objectContaining({ text: '', finish_reason: 'stop' })], timings })]);
  });
});

describe('openaiFinal', () => {
  it('builds chat.completion and text_completion replies with usage', () => {
    expect(openaiFinal('chat', [{ type: 'delta', content: 'Hel' }, { type: 'delta', content: 'lo' }, done], meta)).toEqual({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1700000000, model: 'gpt-local',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    });
    expect(openaiFinal('completion', [{ type: 'delta', content: 'x' }, { ...done, finishReason: 'length' }], meta))
      .toMatchObject({ object: 'text_completion', choices: [{ text: 'x', finish_reason: 'length', logprobs: null }] });
  });
});

describe('embeddings', () => {
  const vectors = [[0.1, -0.25, 3.5e-8, 1], [0, 0.5, -0.75, 0.125]];
  const result = { embeddings: vectors, promptTokens: 5, timings: {} };

  it('base64 is little-endian float32 that openai@4 decodes back to the same floats', () => {
    const reply = openaiEmbeddingsReply(result, { model: 'e', encoding: 'base64' }) as { data: Array<{ embedding: string; index: number }> };
    for (const [i, item] of reply.data.entries()) {
      expect(item.index).toBe(i);
      const decoded = toFloat32Array(item.embedding);
      expect(decoded).toEqual(Array.from(Float32Array.from(vectors[i])));
      expect(decoded.length).toBe(vectors[i].length);
      expect(base64Float32(item.embedding)).toEqual(decoded);
    }
    expect(float32Base64([1])).toBe(Buffer.from([0, 0, 0x80, 0x3f]).toString('base64'));
  });

  it('float replies carry the vectors as is, with usage', () => {
    expect(openaiEmbeddingsReply(result, { model: 'e', encoding: 'float' })).toEqual({
      object: 'list', model: 'e', usage: { prompt_tokens: 5, total_tokens: 5 },
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    });
  });

  it('dimensions keeps the first values, re-normalized', () => {
    expect(fitDimensions([3, 4, 12], 2)).toEqual([0.6, 0.8]);
    expect(fitDimensions([3, 4], undefined)).toEqual([3, 4]);
  });
});
