import { describe, expect, it } from 'vitest';
import { byteChunks, collect } from '../../test/fakes/byte-stream.js';
import type { GenerateEvent, GenerateRequest } from './canonical.js';
import { float32Base64 } from './embedding-vectors.js';
import {
  LlamaServerReplyParser, canonicalEmbedToLlamaServerBody, canonicalToLlamaServerBody, llamaServerEmbeddingsToResult, llamaServerPath,
} from './llama-server.js';
import {
  LlamaCompletionRenderer, llamaCompletionSchema, llamaCompletionToCanonical, llamaEmbeddingReply, llamaEmbeddingSchema, llamaEmbeddingToCanonical,
} from './llama-server-native.js';
import { sseData } from './sse.js';

const head = { created: 1735689600, id: 'chatcmpl-abc', model: 'qwen', system_fingerprint: 'b6000-1a2b3c', object: 'chat.completion.chunk' };
const timings = {
  cache_n: 3, prompt_n: 6, prompt_ms: 12.5, prompt_per_token_ms: 2.08, prompt_per_second: 480,
  predicted_n: 2, predicted_ms: 40, predicted_per_token_ms: 20, predicted_per_second: 50,
};
const usage = { completion_tokens: 2, prompt_tokens: 9, total_tokens: 11, prompt_tokens_details: { cached_tokens: 3 } };

/** A /v1/chat/completions stream as llama-server writes it with stream_options.include_usage. */
const sseStream = [
  { ...head, choices: [{ finish_reason: null, index: 0, delta: { role: 'assistant', content: null } }] },
  { ...head, choices: [{ finish_reason: null, index: 0, delta: { content: 'Hi' } }] },
  { ...head, choices: [{ finish_reason: null, index: 0, delta: { content: ' there' } }] },
  { ...head, choices: [{ finish_reason: 'stop', index: 0, delta: {} }] },
  { ...head, choices: [], usage, timings },
].map((o) => `data: ${JSON.stringify(o)}\n\n`).join('') + 'data: [DONE]\n\n';

const expectedDone: GenerateEvent = {
  type: 'done', finishReason: 'stop', usage: { promptTokens: 9, completionTokens: 2 }, timings: { promptMs: 12.5, genMs: 40, totalMs: 52.5 },
};

async function parseSse(text: string, cut = 7): Promise<GenerateEvent[]> {
  const parts = text.match(new RegExp(`[\\s\\S]{1,${cut}}`, 'g')) ?? [];
  const parser = new LlamaServerReplyParser();
  const events: GenerateEvent[] = [];
  for await (const data of sseData(byteChunks(parts))) events.push(...parser.push(JSON.parse(data)));
  return [...events, ...parser.end()];
}

describe('LlamaServerReplyParser', () => {
  it('turns a chat stream into deltas and one done carrying usage and timings', async () => {
    expect(await parseSse(sseStream)).toEqual([{ type: 'delta', content: 'Hi' }, { type: 'delta', content: ' there' }, expectedDone]);
  });

  it('finishes at end() when no usage chunk comes (timings on the finish chunk)', () => {
    const p = new LlamaServerReplyParser();
    expect(p.push({ ...head, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })).toEqual([{ type: 'delta', content: 'x' }]);
    expect(p.push({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'length' }], timings })).toEqual([]);
    expect(p.end()).toEqual([{ ...expectedDone, finishReason: 'length' }]);
  });

  it('reads non-streamed replies with reasoning and tool calls', () => {
    const reply = {
      ...head, object: 'chat.completion', usage, timings,
      choices: [{
        index: 0, finish_reason: 'tool_calls',
        message: { role: 'assistant', content: '', reasoning_content: 'think', tool_calls: [{ type: 'function', id: 'c1', function: { name: 'f', arguments: '{"q":"x"}' } }] },
      }],
    };
    const p = new LlamaServerReplyParser();
    expect(p.push(reply)).toEqual([
      { type: 'delta', content: '', thinking: 'think' },
      { type: 'delta', content: '', toolCalls: [{ id: 'c1', name: 'f', arguments: { q: 'x' } }] },
      { ...expectedDone, finishReason: 'tool_calls' },
    ]);
    expect(p.end()).toEqual([]);
  });

  it('assembles streamed tool-call fragments into whole calls before done', () => {
    const p = new LlamaServerReplyParser();
    const frag = (tc: unknown, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta: { tool_calls: [tc] }, finish_reason: finish }] });
    p.push(frag({ index: 0, id: 'c1', type: 'function', function: { name: 'get_', arguments: '{"ci' } }));
    p.push(frag({ index: 0, function: { name: 'weather', arguments: 'ty":"Oslo"}' } }));
    expect(p.push({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })).toEqual([
      { type: 'delta', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
    ]);
  });

  it('reads /v1/completions and native /completion replies', () => {
    const cmpl = { choices: [{ text: 'abc', index: 0, logprobs: null, finish_reason: 'stop' }], object: 'text_completion', usage, timings };
    expect(new LlamaServerReplyParser().push(cmpl)).toEqual([{ type: 'delta', content: 'abc' }, expectedDone]);
    const p = new LlamaServerReplyParser();
    expect(p.push({ index: 0, content: 'a', tokens: [], stop: false, id_slot: 0, tokens_predicted: 1, tokens_evaluated: 9 })).toEqual([{ type: 'delta', content: 'a' }]);
    expect(p.push({ index: 0, content: '', stop: true, stop_type: 'limit', tokens_predicted: 2, tokens_evaluated: 9, timings })).toEqual([{ ...expectedDone, finishReason: 'length' }]);
  });

  it('throws UPSTREAM_ERROR on an error chunk and on a stream cut before its end', () => {
    const error = { error: { code: 500, message: 'the request exceeds the available context size', type: 'exceed_context_size_error' } };
    expect(() => new LlamaServerReplyParser().push(error)).toThrowError(expect.objectContaining({ code: 'WG_UPSTREAM_ERROR', message: error.error.message }));
    const p = new LlamaServerReplyParser();
    p.push({ ...head, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] });
    expect(() => p.end()).toThrowError(expect.objectContaining({ code: 'WG_UPSTREAM_ERROR' }));
  });
});

describe('canonical -> llama-server', () => {
  it('sends chats as OpenAI bodies asking for usage and no per-token timings', () => {
    const req: GenerateRequest = {
      kind: 'chat', model: 'qwen', stream: true, format: 'json', sampling: { num_predict: 32, top_k: 20, stop: ['x'] },
      messages: [{ role: 'user', content: 'see', images: ['iVBO'] }, { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'f', arguments: { a: 1 } }] }],
    };
    expect(llamaServerPath(req)).toBe('/v1/chat/completions');
    expect(canonicalToLlamaServerBody(req)).toEqual({
      model: 'qwen', stream: true, stream_options: { include_usage: true }, timings_per_token: false, max_tokens: 32, top_k: 20, stop: ['x'],
      response_format: { type: 'json_object' },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } }] },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      ],
    });
  });

  it('sends templated completions as a chat turn and raw ones to /v1/completions', () => {
    const templated: GenerateRequest = { kind: 'completion', model: 'q', prompt: 'Why?', system: 'S', raw: false, stream: false, sampling: {} };
    expect(llamaServerPath(templated)).toBe('/v1/chat/completions');
    expect(canonicalToLlamaServerBody(templated)).toMatchObject({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Why?' }] });
    expect(canonicalToLlamaServerBody(templated)).not.toHaveProperty('stream_options');
    const raw: GenerateRequest = { kind: 'completion', model: 'q', prompt: 'Once', raw: true, stream: false, sampling: {}, format: { type: 'object' } };
    expect(llamaServerPath(raw)).toBe('/v1/completions');
    expect(canonicalToLlamaServerBody(raw)).toEqual({ model: 'q', stream: false, timings_per_token: false, prompt: 'Once', json_schema: { type: 'object' } });
    expect(() => canonicalToLlamaServerBody({ kind: 'completion', model: 'q', prompt: 'a', suffix: 'b', stream: false, sampling: {} }))
      .toThrowError(expect.objectContaining({ code: 'WG_NOT_SUPPORTED' }));
  });

  it('asks for float embeddings and reads float or base64 replies in index order', () => {
    expect(canonicalEmbedToLlamaServerBody({ model: 'e', input: ['a', 'b'] })).toEqual({ model: 'e', input: ['a', 'b'], encoding_format: 'float' });
    const reply = {
      model: 'e', object: 'list', usage: { prompt_tokens: 4, total_tokens: 4 },
      data: [{ embedding: float32Base64([0.5, -2]), index: 1, object: 'embedding' }, { embedding: [0.25, 1], index: 0, object: 'embedding' }],
    };
    expect(llamaServerEmbeddingsToResult(reply)).toEqual({ embeddings: [[0.25, 1], [0.5, -2]], promptTokens: 4, timings: {} });
    expect(llamaServerEmbeddingsToResult(reply, { dimensions: 1 }).embeddings).toEqual([[1], [1]]);
  });
});

describe('llama-server native routes', () => {
  it('reads /completion and /embedding bodies, keeping unknown fields', () => {
    const body = llamaCompletionSchema.parse({ prompt: 'Hi', n_predict: -1, stream: true, top_k: 5, cache_prompt: true, json_schema: { type: 'object' } });
    expect(body.cache_prompt).toBe(true);
    expect(llamaCompletionToCanonical(body, 'qwen')).toEqual({
      kind: 'completion', model: 'qwen', prompt: 'Hi', raw: true, stream: true, sampling: { top_k: 5 }, format: { type: 'object' },
    });
    expect(llamaCompletionToCanonical(llamaCompletionSchema.parse({ prompt: ['x'], n_predict: 8 }), 'q').sampling).toEqual({ num_predict: 8 });
    expect(llamaEmbeddingToCanonical(llamaEmbeddingSchema.parse({ content: 'text' }), 'e')).toEqual({ model: 'e', input: ['text'] });
    expect(llamaEmbeddingSchema.safeParse({}).error?.issues[0].message).toBe('"input" or "content" must be provided');
  });

  it('renders /completion chunks and replies the parser reads back', () => {
    const r = new LlamaCompletionRenderer({ model: 'qwen' });
    const events: GenerateEvent[] = [{ type: 'delta', content: 'a' }, { type: 'delta', content: 'b' }, { ...expectedDone, finishReason: 'length' }];
    const chunks = events.map((ev) => r.chunk(ev));
    expect(chunks[0]).toEqual({ index: 0, content: 'a', tokens: [], stop: false });
    expect(chunks[2]).toMatchObject({
      stop: true, stop_type: 'limit', tokens_predicted: 2, tokens_evaluated: 9, model: 'qwen',
      timings: { prompt_n: 9, prompt_ms: 12.5, predicted_n: 2, predicted_ms: 40, predicted_per_second: 50 },
    });
    const p = new LlamaServerReplyParser();
    expect(chunks.flatMap((c) => p.push(c))).toEqual(events);
    expect(r.final(events)).toMatchObject({ content: 'ab', stop: true });
  });

  it('names the stop string that ended a completion, and reads it back', () => {
    const r = new LlamaCompletionRenderer({ model: 'qwen' });
    const worded: GenerateEvent = { ...expectedDone, stopWord: 'END' };
    const last = r.chunk(worded);
    expect(last).toMatchObject({ stop_type: 'word', stopping_word: 'END', tokens_cached: 0 });
    expect(new LlamaServerReplyParser().push(last)).toEqual([worded]);
    expect(r.chunk(expectedDone)).toMatchObject({ stop_type: 'eos', stopping_word: '' });
  });

  it('renders /embedding replies as llama-server does', () => {
    expect(llamaEmbeddingReply({ embeddings: [[1, 2], [3, 4]], promptTokens: 2, timings: {} })).toEqual([
      { index: 0, embedding: [[1, 2]] }, { index: 1, embedding: [[3, 4]] },
    ]);
  });
});

describe('round trip through sseData', () => {
  it('parses the stream whatever the chunk size', async () => {
    for (const cut of [1, 3, 64, 4096]) expect(await parseSse(sseStream, cut)).toHaveLength(3);
    expect(await collect(sseData(byteChunks([sseStream])))).toHaveLength(5);
  });
});
