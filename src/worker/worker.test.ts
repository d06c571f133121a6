/**
 * The worker as a real child process on synthetic GGUF models (random weights: the text is
 * gibberish, so these tests check shapes, counts and lifecycles, never content).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultChatSpec, defaultEmbeddingSpec } from '../gguf/index.js';
import { cachedModel } from '../../test/support/cached-model.js';
import { startWorker, type RunningWorker } from './spawn-worker.js';

/** One thread: the test machine has 2 shared cores, and llama.cpp threads spin when oversubscribed. */
const THREADS = 1;

/** Collects a worker's stderr lines and lets a test wait for one (an event, not a sleep). */
class LogLines {
  readonly #lines: string[] = [];
  readonly #waiters: { match: (l: string) => boolean; resolve: () => void }[] = [];

  readonly push = (line: string): void => {
    this.#lines.push(line);
    for (const w of this.#waiters.filter((w) => w.match(line))) w.resolve();
  };

  waitFor(text: string): Promise<void> {
    const match = (l: string) => l.includes(text);
    if (this.#lines.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

async function post(worker: RunningWorker, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${worker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

async function json(res: Response): Promise<any> {
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return res.json();
}

/** The `data:` payloads of a finished SSE stream. */
async function events(res: Response): Promise<string[]> {
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.trim() !== '').map((b) => {
    expect(b.startsWith('data: ')).toBe(true);
    return b.slice('data: '.length);
  });
}

/** Resolves once the stream has delivered its first bytes (generation is under way). */
async function firstChunk(res: Response): Promise<void> {
  const { value } = await res.body!.getReader().read();
  expect(new TextDecoder().decode(value)).toMatch(/^data: /);
}

function expectTimings(t: any): void {
  for (const key of ['prompt_n', 'prompt_ms', 'prompt_per_token_ms', 'prompt_per_second', 'predicted_n', 'predicted_ms',
    'predicted_per_token_ms', 'predicted_per_second', 'cache_n']) {
    expect(Number.isFinite(t[key]), key).toBe(true);
  }
  expect(t.prompt_n).toBeGreaterThan(0);
}

describe('worker on a chat model (--parallel 2)', () => {
  const logs = new LogLines();
  let worker: RunningWorker;

  beforeAll(async () => {
    const model = await cachedModel(defaultChatSpec());
    // 4096 tokens per slot: long enough that a stream never ends by itself during the abort tests.
    worker = await startWorker({ model: model.path, ctx: 8192, parallel: 2, threads: THREADS }, { onStderr: logs.push });
  });
  afterAll(() => worker?.stop());

  it('reports ready on /health and its memory on /props', async () => {
    expect(worker.loadMs).toBeGreaterThan(0);
    const health = await fetch(`${worker.url}/health`);
    expect(health.status).toBe(200);
    expect(await json(health)).toEqual({ status: 'ok' });
    const props = await json(await fetch(`${worker.url}/props`));
    expect(props).toMatchObject({ default_generation_settings: { n_ctx: 4096 }, total_slots: 2 });
    expect(props.model_path).toMatch(/\.gguf$/);
    expect(props.chat_template).toContain('<|im_start|>');
    expect(props.warmgate.rss_bytes).toBeGreaterThan(0);
    expect(props.warmgate).toMatchObject({ vram_bytes: 0, gpu_layers: 0 });
    expect(props.warmgate.load_ms).toBeGreaterThan(0);
    const models = await json(await fetch(`${worker.url}/v1/models`));
    expect(models.data).toHaveLength(1);
    expect(models.data[0]).toMatchObject({ object: 'model', meta: { n_embd: 256 } });
  });

  it('answers a non-streamed chat with usage and timings', async () => {
    const res = await post(worker, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, seed: 1 });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.object).toBe('chat.completion');
    expect(typeof body.choices[0].message.content).toBe('string');
    expect(['stop', 'length']).toContain(body.choices[0].finish_reason);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expectTimings(body.timings);
    expect(body.timings.predicted_n).toBe(body.usage.completion_tokens);
  });

  it('streams a chat as SSE ending with [DONE], usage when asked and timings on the last chunks', async () => {
    const res = await post(worker, '/v1/chat/completions', {
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      max_completion_tokens: 6, stream: true, stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const data = await events(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(['stop', 'length']).toContain(finish.choices[0].finish_reason);
    expectTimings(finish.timings);
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBe(last.timings.predicted_n);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
  });

  it('serves native /completion, streamed and not', async () => {
    const prompt = { prompt: 'Once upon a time', n_predict: 5, temperature: 0, ignore_eos: true };
    const whole = await json(await post(worker, '/completion', prompt));
    expect(whole).toMatchObject({ stop: true, stop_type: 'limit', tokens_predicted: 5 });
    expect(typeof whole.content).toBe('string');
    expect(whole.tokens_evaluated).toBe(whole.timings.prompt_n);
    expectTimings(whole.timings);

    const data = (await events(await post(worker, '/completion', { ...prompt, stream: true }))).map((d) => JSON.parse(d));
    const last = data.at(-1);
    expect(last).toMatchObject({ stop: true, tokens_predicted: 5 });
    expect(data.slice(0, -1).every((d) => d.stop === false)).toBe(true);
    // Greedy decoding: the streamed pieces add up to the non-streamed text.
    expect(data.map((d) => d.content).join('')).toBe(whole.content);

    // The same generation ends at a stop string taken from its text, and says so.
    const word = whole.content.slice(-2);
    const stopped = await json(await post(worker, '/completion', { ...prompt, stop: [word] }));
    expect(stopped).toMatchObject({ stop: true, stop_type: 'word', stopping_word: word });
  });

  it('serves /v1/completions and tokenize/detokenize', async () => {
    const body = await json(await post(worker, '/v1/completions', { prompt: 'Hello', max_tokens: 3, ignore_eos: true }));
    expect(body).toMatchObject({ object: 'text_completion', usage: { completion_tokens: 3 } });
    expect(body.choices[0].finish_reason).toBe('length');

    const { tokens } = await json(await post(worker, '/tokenize', { content: 'hello world' }));
    expect(tokens.length).toBeGreaterThan(0);
    const { content } = await json(await post(worker, '/detokenize', { tokens }));
    expect(content).toBe('hello world');
  });

  it('generates exactly n_predict tokens under any seed, streamed or not (a token ending in half a character is not one too many)', async () => {
    // Under seeds 6, 35 and 59 the 16th token of this model ends in half a UTF-8 character.
    for (let seed = 0; seed < 60; seed++) {
      const body = await json(await post(worker, '/completion', { prompt: 'Tell me', n_predict: 16, ignore_eos: true, seed }));
      expect(body.tokens_predicted, `seed ${seed}`).toBe(16);
      expect(body.timings.predicted_n, `seed ${seed}`).toBe(16);
    }
    const streamed = (await events(await post(worker, '/completion', { prompt: 'Tell me', n_predict: 16, ignore_eos: true, seed: 6, stream: true })))
      .map((e) => JSON.parse(e));
    const whole = await json(await post(worker, '/completion', { prompt: 'Tell me', n_predict: 16, ignore_eos: true, seed: 6 }));
    expect(streamed.map((e) => e.content).join('')).toBe(whole.content);
    expect(streamed.at(-1)).toMatchObject({ stop: true, tokens_predicted: 16 });
  });

  it('runs two requests at once on two slots', async () => {
    const request = () => post(worker, '/completion', { prompt: 'Tell me', n_predict: 16, ignore_eos: true }).then(json);
    const [a, b] = await Promise.all([request(), request()]);
    expect(a.tokens_predicted).toBe(16);
    expect(b.tokens_predicted).toBe(16);
    expect([a.id_slot, b.id_slot].sort()).toEqual([0, 1]);
  });

  it('aborts the generations of clients that disconnect and frees their slots', async () => {
    const long = { prompt: 'Go on', n_predict: -1, ignore_eos: true, stream: true };
    const clients = [new AbortController(), new AbortController()];
    const streams = await Promise.all(clients.map((c) => post(worker, '/completion', long, c.signal)));
    await Promise.all(streams.map(firstChunk));
    for (const c of clients) c.abort();
    await logs.waitFor('client disconnected: generation aborted');
    // Both slots were busy with streams that would run for thousands of tokens; now both serve again.
    const after = await Promise.all([1, 2].map(() => post(worker, '/completion', { prompt: 'Again', n_predict: 2 }).then(json)));
    expect(after.map((r) => r.stop)).toEqual([true, true]);
  });

  it('rejects bad input with 400 in llama-server shape, and embeddings with 501', async () => {
    const badJson = await post(worker, '/v1/chat/completions', '{"messages": [');
    expect(badJson.status).toBe(400);
    expect((await json(badJson)).error).toMatchObject({ code: 400, type: 'invalid_request_error' });
    const badField = await post(worker, '/completion', { prompt: 'x', temperature: 'hot' });
    expect(badField.status).toBe(400);
    expect((await json(badField)).error.message).toMatch(/temperature/);
    const noMessages = await post(worker, '/v1/chat/completions', { messages: [] });
    expect(noMessages.status).toBe(400);
    const embeddings = await post(worker, '/v1/embeddings', { input: 'x' });
    expect(embeddings.status).toBe(501);
    expect((await json(embeddings)).error).toMatchObject({ code: 501, type: 'not_supported_error' });
  });

  it('closes gracefully on SIGTERM, aborting a stream in flight, and exits 0', async () => {
    const stream = await post(worker, '/completion', { prompt: 'Go on', n_predict: -1, ignore_eos: true, stream: true });
    await firstChunk(stream);
    const exit = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
    worker.child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});

describe('worker on an embedding model (--embedding)', () => {
  let worker: RunningWorker;

  beforeAll(async () => {
    const model = await cachedModel(defaultEmbeddingSpec());
    worker = await startWorker({ model: model.path, embedding: true, ctx: 512, threads: THREADS });
  });
  afterAll(() => worker?.stop());

  const expectUnitVector = (v: unknown) => {
    expect(Array.isArray(v)).toBe(true);
    const vector = v as number[];
    expect(vector).toHaveLength(256);
    expect(vector.every(Number.isFinite)).toBe(true);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 3);
  };

  it('serves OpenAI embeddings for a string and for an array, as floats or base64', async () => {
    const one = await json(await post(worker, '/v1/embeddings', { input: 'hello world', model: 'x' }));
    expect(one).toMatchObject({ object: 'list', data: [{ object: 'embedding', index: 0 }] });
    expectUnitVector(one.data[0].embedding);
    expect(one.usage.prompt_tokens).toBeGreaterThan(0);

    const many = await json(await post(worker, '/v1/embeddings', { input: ['a', 'b c', 'hello world'] }));
    expect(many.data.map((d: any) => d.index)).toEqual([0, 1, 2]);
    many.data.forEach((d: any) => expectUnitVector(d.embedding));
    expect(many.data[2].embedding).toEqual(one.data[0].embedding);

    const b64 = await json(await post(worker, '/v1/embeddings', { input: 'hello world', encoding_format: 'base64' }));
    const bytes = Buffer.from(b64.data[0].embedding, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    decoded.forEach((x, i) => expect(x).toBeCloseTo(one.data[0].embedding[i], 5));
  });

  it('serves native /embedding in llama-server shape', async () => {
    const body = await json(await post(worker, '/embedding', { content: 'hello world' }));
    expect(body).toHaveLength(1);
    expect(body[0].index).toBe(0);
    expect(body[0].embedding).toHaveLength(1);
    expectUnitVector(body[0].embedding[0]);
  });

  it('refuses completions with 501 and empty input with 400', async () => {
    const chat = await post(worker, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }] });
    expect(chat.status).toBe(501);
    expect((await json(chat)).error.message).toMatch(/does not support completions/);
    expect((await post(worker, '/v1/embeddings', { input: '' })).status).toBe(400);
  });

  it('exits 0 on SIGTERM', async () => {
    await worker.stop();
    expect(worker.child.exitCode).toBe(0);
  });
});

describe('worker that cannot load its model', () => {
  it('exits 1, and startWorker rejects with its log tail', async () => {
    const start = startWorker({ model: '/nonexistent/model.gguf', threads: THREADS });
    await expect(start).rejects.toThrow(/exited \(code 1\) before it was ready[\s\S]*cannot load/);
  });
});
