import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ndjsonObjects } from '../../src/dialects/ndjson.js';
import { sseData } from '../../src/dialects/sse.js';
import { collect } from './byte-stream.js';
import { FakeOllama } from './ollama-upstream.js';
import { FakeResidency } from './fake-residency.js';
import { Turnstile } from './turnstile.js';

const models = [{ name: 'llama3.2' }, { name: 'nomic-embed-text', kind: 'embedding' as const, embeddingLength: 4 }, { name: 'qwen3:4b' }];

let fake: FakeOllama;
let url: string;
let clock: number;

beforeEach(async () => {
  clock = Date.parse('2025-06-01T12:00:00Z');
  fake = new FakeOllama({ models, now: () => clock });
  ({ url } = await fake.start());
});
afterEach(() => fake.close());

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}
async function postJson(path: string, body: unknown) {
  const res = await post(path, body);
  return { status: res.status, json: (await res.body.json()) as Record<string, any> };
}
async function get(path: string) {
  const res = await request(`${url}${path}`);
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
}

describe('FakeOllama: catalog endpoints', () => {
  it('answers / , /api/version, /api/tags and /api/show like Ollama', async () => {
    const root = await request(url);
    expect(await root.body.text()).toBe('Ollama is running');
    const head = await request(url, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    await head.body.dump();
    expect((await get('/api/version')).json).toEqual({ version: '0.6.8' });
    const tags = (await get('/api/tags')).json.models;
    expect(tags.map((m: { name: string }) => m.name)).toEqual(['llama3.2:latest', 'nomic-embed-text:latest', 'qwen3:4b']);
    expect(tags[0]).toMatchObject({ model: 'llama3.2:latest', size: expect.any(Number), digest: expect.stringMatching(/^[0-9a-f]{64}$/), details: { family: 'llama', format: 'gguf', parameter_size: '3.2B', quantization_level: 'Q4_K_M' } });
    const show = await postJson('/api/show', { model: 'nomic-embed-text' });
    expect(show.json).toMatchObject({ capabilities: ['embedding'], model_info: { 'bert.context_length': 2048 } });
    expect((await postJson('/api/show', { model: 'llama3.2' })).json).toMatchObject({ capabilities: ['completion'], model_info: { 'llama.context_length': 131072 } });
    expect(await postJson('/api/show', { model: 'nope' })).toEqual({ status: 404, json: { error: "model 'nope' not found" } });
  });

  it('404s unknown models with Ollama\'s message and bad JSON with a 400', async () => {
    expect(await postJson('/api/chat', { model: 'x', messages: [{ role: 'user', content: 'hi' }] }))
      .toEqual({ status: 404, json: { error: 'model "x" not found, try pulling it first' } });
    const bad = await request(`${url}/api/generate`, { method: 'POST', body: '{"model":' });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: string }).error).toMatch(/invalid JSON/);
    const v1 = await postJson('/v1/chat/completions', { model: 'x', messages: [{ role: 'user', content: 'hi' }] });
    expect(v1).toMatchObject({ status: 404, json: { error: { type: 'not_found_error' } } });
  });

  it('pulls (streamed status lines), copies, creates and deletes with a body', async () => {
    const pull = await post('/api/pull', { model: 'mistral' });
    const statuses = (await collect(ndjsonObjects(pull.body))) as Array<{ status: string }>;
    expect(statuses[0]).toEqual({ status: 'pulling manifest' });
    expect(statuses.at(-1)).toEqual({ status: 'success' });
    const copy = await post('/api/copy', { source: 'mistral', destination: 'm2' });
    expect(copy.status).toBe(200);
    expect(await copy.body.text()).toBe('');
    expect((await postJson('/api/create', { model: 'm3', from: 'm2', stream: false })).json).toEqual({ status: 'success' });
    const del = await request(`${url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'm2' }) });
    expect(del.statusCode).toBe(200);
    await del.body.dump();
    const names = (await get('/api/tags')).json.models.map((m: { name: string }) => m.name);
    expect(names).toEqual(expect.arrayContaining(['mistral:latest', 'm3:latest']));
    expect(names).not.toContain('m2:latest');
  });
});

describe('FakeOllama: generation', () => {
  it('streams NDJSON by default, ending with done and nanosecond metrics', async () => {
    const res = await post('/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi there' }] });
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    const lines = (await collect(ndjsonObjects(res.body))) as Array<Record<string, any>>;
    expect(lines.slice(0, -1).map((l) => l.message.content).join('')).toBe('You said: hi there');
    expect(lines.at(-1)).toMatchObject({
      done: true, done_reason: 'stop', message: { role: 'assistant', content: '' },
      load_duration: 250_000_000, prompt_eval_count: 2, prompt_eval_duration: 4_000_000, eval_count: 4, eval_duration: 40_000_000, total_duration: 294_000_000,
    });
    const warm = await postJson('/api/generate', { model: 'llama3.2', prompt: 'a b c', stream: false, options: { num_predict: 2 } });
    expect(warm.json).toMatchObject({ response: 'You said:', done: true, done_reason: 'length', eval_count: 2 });
    expect(warm.json).not.toHaveProperty('load_duration');
  });

  it('preloads on an empty request and unloads with keep_alive 0', async () => {
    expect((await postJson('/api/generate', { model: 'llama3.2', prompt: '' })).json).toMatchObject({ response: '', done: true, done_reason: 'load' });
    expect(fake.resident().map((m) => m.name)).toEqual(['llama3.2:latest']);
    expect((await postJson('/api/chat', { model: 'llama3.2', keep_alive: 0 })).json).toMatchObject({ message: { content: '' }, done_reason: 'unload' });
    expect(fake.resident()).toEqual([]);
    expect(fake.loadCount('llama3.2')).toBe(1);
  });

  it('serves the OpenAI layer with usage only when asked', async () => {
    const res = await post('/v1/chat/completions', { model: 'llama3.2', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'yo' }] });
    const chunks = (await collect(sseData(res.body))).map((d) => JSON.parse(d));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } });
    const plain = await postJson('/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'yo' }] });
    expect(plain.json).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'You said: yo' }, finish_reason: 'stop' }], system_fingerprint: 'fp_ollama' });
    expect((await get('/v1/models')).json.data[0]).toMatchObject({ id: 'llama3.2:latest', object: 'model' });
  });
});

describe('FakeOllama: embeddings', () => {
  it('/api/embed returns deterministic unit vectors with metrics; /api/embeddings the raw vector only', async () => {
    const a = await postJson('/api/embed', { model: 'nomic-embed-text', input: ['alpha', 'beta'] });
    expect(a.json).toMatchObject({ model: 'nomic-embed-text', prompt_eval_count: 2, load_duration: 250_000_000 });
    const [va, vb] = a.json.embeddings as number[][];
    expect(va).toHaveLength(4);
    expect(Math.hypot(...va)).toBeCloseTo(1, 6);
    expect(va).not.toEqual(vb);
    const again = await postJson('/api/embed', { model: 'nomic-embed-text', input: 'alpha' });
    expect(again.json.embeddings).toEqual([va]);
    expect(again.json).not.toHaveProperty('load_duration');
    const legacy = await postJson('/api/embeddings', { model: 'nomic-embed-text', prompt: 'alpha' });
    expect(Object.keys(legacy.json)).toEqual(['embedding']);
    const v1 = await postJson('/v1/embeddings', { model: 'nomic-embed-text', input: 'alpha', encoding_format: 'float' });
    expect(v1.json.data[0].embedding).toEqual(va);
    expect((await postJson('/api/embed', { model: 'llama3.2', input: 'x' })).status).toBe(400);
  });
});

describe('FakeOllama: residency', () => {
  it('reloads when a load option changes, never for sampling options', async () => {
    const chat = (options: Record<string, unknown>) => postJson('/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'q' }], options });
    await chat({ num_ctx: 16384, temperature: 0.1 });
    await chat({ num_ctx: 16384, temperature: 0.9, seed: 3 });
    expect(fake.loadCount('llama3.2')).toBe(1);
    await chat({});
    expect(fake.loadCount('llama3.2')).toBe(2);
    await chat({ num_ctx: 4096 });
    expect(fake.loadCount('llama3.2')).toBe(2);
    await postJson('/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'q' }] });
    expect(fake.loadCount('llama3.2')).toBe(2);
    await chat({ num_ctx: 16384 });
    expect(fake.loads.map((l) => l.options.num_ctx)).toEqual([16384, 4096, 16384]);
  });

  it('validates keep_alive like Ollama: "300" without a unit is a 400', async () => {
    expect(await postJson('/api/generate', { model: 'llama3.2', prompt: '', keep_alive: '300' }))
      .toEqual({ status: 400, json: { error: 'time: missing unit in duration "300"' } });
    expect((await postJson('/api/generate', { model: 'llama3.2', prompt: '', keep_alive: '300s' })).status).toBe(200);
  });

  it('expires models after keep_alive; the 5m default applies only at load; negative keeps forever', async () => {
    await postJson('/api/generate', { model: 'llama3.2', prompt: '' });
    const ps = (await get('/api/ps')).json.models;
    expect(ps[0]).toMatchObject({ name: 'llama3.2:latest', size_vram: expect.any(Number), expires_at: '2025-06-01T12:05:00.000+00:00' });
    await postJson('/api/generate', { model: 'llama3.2', prompt: '', keep_alive: '1h' });
    clock += 10 * 60_000;
    await postJson('/api/generate', { model: 'llama3.2', prompt: '' });
    expect(fake.loadCount('llama3.2')).toBe(1);
    clock += 61 * 60_000;
    expect(fake.resident()).toEqual([]);
    await postJson('/api/generate', { model: 'qwen3:4b', prompt: '', keep_alive: -1 });
    clock += 1000 * 24 * 3600_000;
    expect((await get('/api/ps')).json.models[0].expires_at).toMatch(/^2[3-9]\d\d-/);
  });

  it('evicts an idle model beyond maxLoaded as Ollama picks it: shortest keep-alive first, forever-kept ones last', async () => {
    await fake.close();
    fake = new FakeOllama({ models, maxLoaded: 2 });
    ({ url } = await fake.start());
    await postJson('/api/generate', { model: 'llama3.2', prompt: '', keep_alive: -1 });
    await postJson('/api/embed', { model: 'nomic-embed-text', input: [] });
    await postJson('/api/generate', { model: 'qwen3:4b', prompt: '' });
    expect(fake.resident().map((m) => m.name).sort()).toEqual(['llama3.2:latest', 'qwen3:4b']);
    expect(fake.unloads).toEqual(['nomic-embed-text:latest']);
  });
});

describe('FakeOllama: its own VRAM', () => {
  const GB = 1e9;
  const big = [{ name: 'chat', size: 12 * GB }, { name: 'embed', kind: 'embedding' as const, size: 11 * GB }, { name: 'huge', size: 20 * GB }, { name: 'tiny', size: 1 * GB }];

  beforeEach(async () => {
    await fake.close();
    fake = new FakeOllama({ models: big, vram: 16 * GB });
    ({ url } = await fake.start());
  });

  it('loads a model beside others only where it fits wholly in the VRAM they leave, else unloads one', async () => {
    await postJson('/api/generate', { model: 'chat', prompt: '' });
    await postJson('/api/generate', { model: 'tiny', prompt: '' });
    expect(fake.unloads).toEqual([]);
    await postJson('/api/embed', { model: 'embed', input: [] });
    // chat and tiny share the default keep-alive: by name, chat goes first, and then embed fits.
    expect(fake.unloads).toEqual(['chat:latest']);
    const ps = (await get('/api/ps')).json.models as Array<{ name: string; size: number; size_vram: number }>;
    expect(ps.map((m) => [m.name, m.size, m.size_vram]).sort()).toEqual([['embed:latest', 11 * GB, 11 * GB], ['tiny:latest', 1 * GB, 1 * GB]]);
  });

  it('waits for a busy model to finish before evicting it for a load, as Ollama does', async () => {
    let chatBusy = false;
    const seenAtLoad: boolean[] = [];
    const residency = new FakeResidency({
      maxLoaded: 3, vram: 16 * GB, sizeOf: (m) => (m === 'chat' ? 12 : 11) * GB, defaultKeepAliveMs: 300_000, now: () => 0,
      beforeLoad: async (m) => void (m === 'embed' && seenAtLoad.push(chatBusy)),
    });
    const chat = await residency.acquire('chat', {}, undefined);
    chatBusy = true;
    const embed = residency.acquire('embed', {}, undefined);
    // Released on a later turn than every step the load could take without waiting.
    setImmediate(() => {
      chatBusy = false;
      chat.release();
    });
    (await embed).release();
    expect(seenAtLoad).toEqual([false]);
    expect(residency.unloads).toEqual(['chat']);
  });

  it('runs a model larger than its VRAM alone, the rest in RAM', async () => {
    await postJson('/api/generate', { model: 'tiny', prompt: '' });
    await postJson('/api/generate', { model: 'huge', prompt: '' });
    expect(fake.unloads).toEqual(['tiny:latest']);
    expect((await get('/api/ps')).json.models).toMatchObject([{ name: 'huge:latest', size: 20 * GB, size_vram: 16 * GB }]);
  });
});

describe('FakeOllama: scripting knobs', () => {
  it('holds loads until the test releases them; both waiters share one load', async () => {
    const held = fake.holdLoads('llama3.2');
    const first = postJson('/api/generate', { model: 'llama3.2', prompt: 'one', stream: false });
    const second = postJson('/api/generate', { model: 'llama3.2', prompt: 'two', stream: false });
    await held;
    expect(fake.loads).toHaveLength(0);
    expect((await get('/api/ps')).json.models).toEqual([]);
    fake.releaseLoads('llama3.2');
    expect((await first).json.response).toBe('You said: one');
    expect((await second).json.response).toBe('You said: two');
    expect(fake.loadCount('llama3.2')).toBe(1);
  });

  it('releases stream chunks one by one through a gate', async () => {
    const gate = (fake.streamGate = new Turnstile());
    const res = await post('/api/generate', { model: 'llama3.2', prompt: 'x' });
    const lines = ndjsonObjects(res.body)[Symbol.asyncIterator]();
    gate.allow(1);
    expect(await lines.next()).toMatchObject({ value: { response: 'You', done: false } });
    await gate.waiting();
    expect(gate.blocked).toBe(1);
    gate.open();
    const rest = [];
    for (let r = await lines.next(); !r.done; r = await lines.next()) rest.push(r.value);
    expect(rest.at(-1)).toMatchObject({ done: true });
  });

  it('crashes mid-stream (socket destroyed) or sends an error line after status 200', async () => {
    fake.crashMidStream = 2;
    const crashed = await post('/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'a b c' }] });
    expect(crashed.status).toBe(200);
    const got: unknown[] = [];
    await expect((async () => { for await (const o of ndjsonObjects(crashed.body)) got.push(o); })()).rejects.toThrow();
    expect(got).toHaveLength(2);
    fake.crashMidStream = undefined;
    fake.errorMidStream = { afterChunks: 1, message: 'model runner has unexpectedly stopped' };
    const errored = await post('/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'a' }] });
    expect(await collect(ndjsonObjects(errored.body))).toEqual([expect.objectContaining({ done: false }), { error: 'model runner has unexpectedly stopped' }]);
  });

  it('paces a model as its spec asks (for benches): a load, each streamed line, each embedded input, never sooner', async () => {
    const paced = new FakeOllama({ models: [{ name: 'slow', loadMs: 40, tokenMs: 10, reply: () => 'one two three' }, { name: 'emb', kind: 'embedding', tokenMs: 15 }] });
    const at = (await paced.start()).url;
    // Lower bounds only (a timer never fires sooner; the clock may read up to 1 ms short per timer).
    const elapsed = async (path: string, body: unknown) => {
      const t0 = performance.now();
      const res = await request(`${at}${path}`, { method: 'POST', body: JSON.stringify(body) });
      const text = await res.body.text();
      return { ms: performance.now() - t0, text };
    };
    try {
      const chat = { model: 'slow', messages: [{ role: 'user', content: 'hi' }] };
      const cold = await elapsed('/api/chat', chat);
      expect(cold.text.trim().split('\n')).toHaveLength(4);
      expect(cold.ms).toBeGreaterThanOrEqual(40 + 4 * 10 - 5);
      expect((await elapsed('/api/chat', chat)).ms).toBeGreaterThanOrEqual(4 * 10 - 4);
      expect((await elapsed('/api/chat', { ...chat, stream: false })).ms).toBeGreaterThanOrEqual(3 * 10 - 1);
      expect((await elapsed('/api/embed', { model: 'emb', input: ['a', 'b'] })).ms).toBeGreaterThanOrEqual(2 * 15 - 1);
      expect(paced.loads.map((l) => l.model)).toEqual(['slow:latest', 'emb:latest']);
    } finally {
      await paced.close();
    }
  });

  it('records every request with headers and body', async () => {
    await postJson('/api/show', { model: 'llama3.2' });
    const [rec] = await fake.waitForRequests('/api/show');
    expect(rec).toMatchObject({ method: 'POST', body: { model: 'llama3.2' }, headers: { host: url.replace('http://', '') } });
    expect(await rec.outcome).toBe('completed');
  });
});

describe('FakeOllama: Host check', () => {
  it('answers 403 unless Host is loopback, as Ollama bound to 127.0.0.1', async () => {
    await fake.close();
    fake = new FakeOllama({ models, hostCheck: true });
    ({ url } = await fake.start());
    const port = new URL(url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost']) {
      const res = await request(`${url}/api/version`, { headers: { host } });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    const proxied = await request(`${url}/api/version`, { headers: { host: 'warmgate.example:11434' } });
    expect(proxied.statusCode).toBe(403);
    await proxied.body.dump();
  });
});
