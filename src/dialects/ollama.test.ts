import { describe, expect, it } from 'vitest';
import type { GenerateEvent } from './canonical.js';
import {
  OllamaRenderer, canonicalEmbedToOllamaBody, canonicalToOllamaBody, ollamaChatToCanonical, ollamaEmbedReply, ollamaEmbeddingsReply,
  ollamaEmbedToCanonical, ollamaGenerateToCanonical, ollamaObjectToEvents,
} from './ollama.js';
import { ollamaChatSchema, ollamaEmbedSchema, ollamaEmbeddingsSchema, ollamaGenerateSchema } from './ollama-schemas.js';

/** A streamed /api/chat reply as Ollama 0.6 sends it (durations in nanoseconds). */
const chatStream = [
  { model: 'llama3.2:latest', created_at: '2025-03-01T10:00:00.1Z', message: { role: 'assistant', content: 'The sky' }, done: false },
  { model: 'llama3.2:latest', created_at: '2025-03-01T10:00:00.2Z', message: { role: 'assistant', content: ' is blue.' }, done: false },
  {
    model: 'llama3.2:latest', created_at: '2025-03-01T10:00:00.3Z', message: { role: 'assistant', content: '' },
    done_reason: 'stop', done: true, total_duration: 4883583458, load_duration: 1334875, prompt_eval_count: 26,
    prompt_eval_duration: 342546000, eval_count: 282, eval_duration: 4535599000,
  },
];

const parse = <T>(schema: { parse: (v: unknown) => T }, v: unknown) => schema.parse(v);

describe('ollama schemas', () => {
  it('keep unknown fields, at the top and inside options and messages', () => {
    const body = parse(ollamaChatSchema, {
      model: 'm', think: true, messages: [{ role: 'user', content: 'hi', extra: 1 }], options: { num_ctx: 8192, mirostat: 2 },
    });
    expect(body).toMatchObject({ think: true, messages: [{ extra: 1 }], options: { num_ctx: 8192, mirostat: 2 } });
    expect(parse(ollamaGenerateSchema, { model: 'm', prompt: 'x', template: '{{ .Prompt }}', context: [1, 2] })).toMatchObject({ template: '{{ .Prompt }}', context: [1, 2] });
  });

  it('validate keep_alive like Ollama: seconds, Go durations, and "300" without a unit is an error', () => {
    for (const ok of [300, -1, 0, '5m', '1h30m', '-1m']) expect(ollamaChatSchema.safeParse({ model: 'm', keep_alive: ok }).success).toBe(true);
    const bad = ollamaChatSchema.safeParse({ model: 'm', keep_alive: '300' });
    expect(bad.error?.issues[0]).toMatchObject({ path: ['keep_alive'], message: 'time: missing unit in duration "300"' });
    expect(ollamaChatSchema.safeParse({ model: 'm', keep_alive: 'soon' }).error?.issues[0].message).toBe('time: invalid duration "soon"');
  });

  it('say clearly what is wrong', () => {
    expect(ollamaChatSchema.safeParse({ messages: [] }).error?.issues[0].message).toBe('model is required');
    expect(ollamaEmbedSchema.safeParse({ model: 'm', input: [1, 2] }).error?.issues[0].message).toBe('input as token arrays is not supported; send text');
    expect(ollamaEmbedSchema.safeParse({ model: 'm', input: 5 }).error?.issues[0].message).toBe('input must be a string or an array of strings');
    expect(ollamaChatSchema.safeParse({ model: 'm', options: { temperature: 'hot' } }).error?.issues[0].path).toEqual(['options', 'temperature']);
  });
});

describe('ollama -> canonical', () => {
  it('splits options into sampling and the load options the gateway pins', () => {
    const req = ollamaChatToCanonical(parse(ollamaChatSchema, {
      model: 'llama3.2', keep_alive: 300, format: 'json',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'look', images: ['aGk='] },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'weather', arguments: { city: 'Oslo' } } }] },
        { role: 'tool', content: '12C', tool_name: 'weather' },
      ],
      options: { num_ctx: 16384, temperature: 0.7, stop: ['\n\n'], num_predict: 64, use_mmap: false },
    }));
    expect(req).toMatchObject({
      kind: 'chat', model: 'llama3.2', stream: true, format: 'json', keepAlive: 300,
      sampling: { temperature: 0.7, stop: ['\n\n'], num_predict: 64 },
      loadOptions: { num_ctx: 16384, use_mmap: false },
    });
    expect(req.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'look', images: ['aGk='] },
      { role: 'assistant', content: '', tool_calls: [{ name: 'weather', arguments: { city: 'Oslo' } }] },
      { role: 'tool', content: '12C', name: 'weather' },
    ]);
  });

  it('keeps /api/generate templated unless the client asks for raw', () => {
    const req = ollamaGenerateToCanonical(parse(ollamaGenerateSchema, { model: 'm', prompt: 'Why?', system: 'S', stream: false }));
    expect(req).toMatchObject({ kind: 'completion', prompt: 'Why?', system: 'S', raw: false, stream: false, sampling: {} });
    expect(req.loadOptions).toBeUndefined();
    expect(ollamaGenerateToCanonical(parse(ollamaGenerateSchema, { model: 'm', prompt: 'x', raw: true })).raw).toBe(true);
  });

  it('reads /api/embed input and legacy /api/embeddings prompt; empty means a preload', () => {
    expect(ollamaEmbedToCanonical(parse(ollamaEmbedSchema, { model: 'e', input: 'one', truncate: true, options: { num_ctx: 1000 } })))
      .toMatchObject({ model: 'e', input: ['one'], truncate: true, loadOptions: { num_ctx: 1000 } });
    expect(ollamaEmbedToCanonical(parse(ollamaEmbedSchema, { model: 'e', input: ['a', 'b'], dimensions: 4 }))).toMatchObject({ input: ['a', 'b'], dimensions: 4 });
    expect(ollamaEmbedToCanonical(parse(ollamaEmbedSchema, { model: 'e', input: '' })).input).toEqual([]);
    expect(ollamaEmbedToCanonical(parse(ollamaEmbedSchema, { model: 'e', keep_alive: 0 }))).toMatchObject({ input: [], keepAlive: 0 });
    expect(ollamaEmbedToCanonical(parse(ollamaEmbeddingsSchema, { model: 'e', prompt: 'legacy' })).input).toEqual(['legacy']);
  });
});

describe('canonical -> ollama backend', () => {
  const pins = { model: 'llama3.2:latest', options: { num_ctx: 8192 }, keep_alive: -1 };

  it('writes sampling into options beside the pinned load options, and round-trips', () => {
    const client = parse(ollamaChatSchema, {
      model: 'alias', stream: false, messages: [{ role: 'user', content: 'hi' }, { role: 'tool', content: 'r', tool_name: 'f' }],
      options: { temperature: 0.2, seed: 7, num_ctx: 2048 }, tools: [{ type: 'function', function: { name: 'f' } }],
    });
    const req = ollamaChatToCanonical(client);
    const body = JSON.parse(JSON.stringify(canonicalToOllamaBody(req, pins)));
    expect(body).toEqual({
      model: 'llama3.2:latest', stream: false, keep_alive: -1, options: { num_ctx: 8192, temperature: 0.2, seed: 7 },
      messages: [{ role: 'user', content: 'hi' }, { role: 'tool', content: 'r', tool_name: 'f' }],
      tools: [{ type: 'function', function: { name: 'f' } }],
    });
    const again = ollamaChatToCanonical(parse(ollamaChatSchema, body));
    expect({ ...again, model: req.model, keepAlive: undefined, loadOptions: undefined }).toEqual({ ...req, keepAlive: undefined, loadOptions: undefined });
  });

  it('builds /api/generate and /api/embed bodies', () => {
    const gen = canonicalToOllamaBody({ kind: 'completion', model: 'x', prompt: 'p', raw: true, stream: true, sampling: { num_predict: 5 } }, pins);
    expect(JSON.parse(JSON.stringify(gen))).toEqual({ model: 'llama3.2:latest', prompt: 'p', raw: true, stream: true, keep_alive: -1, options: { num_ctx: 8192, num_predict: 5 } });
    const embed = canonicalEmbedToOllamaBody({ model: 'x', input: ['a'], truncate: true }, { model: 'nomic-embed-text:latest', options: {}, keep_alive: '30m' });
    expect(JSON.parse(JSON.stringify(embed))).toEqual({ model: 'nomic-embed-text:latest', input: ['a'], truncate: true, options: {}, keep_alive: '30m' });
  });
});

describe('ollama replies -> events', () => {
  it('turns a stream into deltas and a done with milliseconds', () => {
    const events = chatStream.flatMap(ollamaObjectToEvents);
    expect(events).toEqual([
      { type: 'delta', content: 'The sky' },
      { type: 'delta', content: ' is blue.' },
      {
        type: 'done', finishReason: 'stop', usage: { promptTokens: 26, completionTokens: 282 },
        timings: { totalMs: 4883.583458, loadMs: 1.334875, promptMs: 342.546, genMs: 4535.599 },
      },
    ]);
  });

  it('reads non-streamed generate replies, preload answers and tool calls', () => {
    expect(ollamaObjectToEvents({ model: 'm', response: 'Hi', done: true, done_reason: 'length', eval_count: 1 })).toEqual([
      { type: 'delta', content: 'Hi' },
      { type: 'done', finishReason: 'length', usage: { promptTokens: 0, completionTokens: 1 }, timings: {} },
    ]);
    expect(ollamaObjectToEvents({ model: 'm', response: '', done: true, done_reason: 'load' })[0]).toMatchObject({ type: 'done', finishReason: 'load' });
    const call = { model: 'm', message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }, done: false };
    expect(ollamaObjectToEvents(call)).toEqual([{ type: 'delta', content: '', toolCalls: [{ name: 'f', arguments: { a: 1 } }] }]);
  });

  it("throws UPSTREAM_ERROR with the daemon's message on an error line", () => {
    expect(() => ollamaObjectToEvents({ error: 'model runner has unexpectedly stopped' })).toThrowError(
      expect.objectContaining({ code: 'WG_UPSTREAM_ERROR', message: 'model runner has unexpectedly stopped' }),
    );
  });
});

describe('OllamaRenderer', () => {
  const now = () => new Date('2025-03-01T10:00:00.000Z');
  const done: GenerateEvent = {
    type: 'done', finishReason: 'stop', usage: { promptTokens: 26, completionTokens: 282 },
    timings: { totalMs: 4883.583458, loadMs: 0, promptMs: 342.546, genMs: 4535.599 },
  };

  it("renders chat chunks exactly as Ollama's, metrics in nanoseconds with zeros left out", () => {
    const r = new OllamaRenderer({ kind: 'chat', model: 'llama3.2', now });
    expect(r.chunk({ type: 'delta', content: 'Hi' })).toEqual({
      model: 'llama3.2', created_at: '2025-03-01T10:00:00.000Z', message: { role: 'assistant', content: 'Hi' }, done: false,
    });
    expect(r.chunk(done)).toEqual({
      model: 'llama3.2', created_at: '2025-03-01T10:00:00.000Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop',
      total_duration: 4883583458, prompt_eval_count: 26, prompt_eval_duration: 342546000, eval_count: 282, eval_duration: 4535599000,
    });
  });

  it('round-trips through ollamaObjectToEvents', () => {
    const events: GenerateEvent[] = [{ type: 'delta', content: 'a', thinking: 't' }, { type: 'delta', content: 'b' }, done];
    for (const kind of ['chat', 'generate'] as const) {
      const r = new OllamaRenderer({ kind, model: 'm', now });
      const back = events.map((ev) => r.chunk(ev)).flatMap(ollamaObjectToEvents);
      expect(back).toEqual([events[0], events[1], { ...done, timings: { totalMs: 4883.583458, promptMs: 342.546, genMs: 4535.599 } }]);
    }
  });

  it('answers non-streamed requests with one object, content joined', () => {
    const r = new OllamaRenderer({ kind: 'generate', model: 'm', now });
    const reply = r.final([{ type: 'delta', content: 'Hel' }, { type: 'delta', content: 'lo' }, { ...done, finishReason: 'length' }]);
    expect(reply).toMatchObject({ response: 'Hello', done: true, done_reason: 'length', eval_count: 282 });
    expect(() => r.final([{ type: 'delta', content: 'cut' }])).toThrowError(expect.objectContaining({ code: 'WG_UPSTREAM_ERROR' }));
  });

  it('renders tool calls in Ollama shape with done_reason stop', () => {
    const r = new OllamaRenderer({ kind: 'chat', model: 'm', now });
    const reply = r.final([{ type: 'delta', content: '', toolCalls: [{ id: 'call_1', name: 'f', arguments: { a: 1 } }] }, { ...done, finishReason: 'tool_calls' }]);
    expect(reply).toMatchObject({ message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }, done_reason: 'stop' });
  });
});

describe('embedding replies', () => {
  const result = { embeddings: [[0.1, 0.2]], promptTokens: 3, timings: { loadMs: 0, totalMs: 12.5 } };

  it('/api/embed: model, embeddings, nanosecond metrics without zeros', () => {
    expect(ollamaEmbedReply(result, 'nomic-embed-text')).toEqual({ model: 'nomic-embed-text', embeddings: [[0.1, 0.2]], total_duration: 12500000, prompt_eval_count: 3 });
    expect(ollamaEmbedReply(result, 'e', 20)).toMatchObject({ total_duration: 20000000 });
  });

  it('/api/embeddings: the vector only', () => {
    expect(ollamaEmbeddingsReply(result)).toEqual({ embedding: [0.1, 0.2] });
  });
});
