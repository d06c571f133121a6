import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOllama } from '../../../test/fakes/ollama-upstream.js';
import { readText } from '../../upstream/upstream-pool.js';
import type { BackendModel } from '../backend.js';
import { OllamaBackend } from './ollama-backend.js';

const MODEL = 'llama3.2:latest';

describe('an Ollama passthrough body and the pins as they are when it is sent', () => {
  let fake: FakeOllama;
  let backend: OllamaBackend;
  /** The pinned load options now; a test grows them as a request would while another waits. */
  let pinned: Record<string, unknown>;

  beforeAll(async () => {
    fake = new FakeOllama({ models: [{ name: MODEL }] });
    await fake.start();
    backend = new OllamaBackend('ollama', {
      url: fake.url, memory: {}, timeouts: { firstByteMs: 10_000, idleMs: 10_000 },
      pins: () => ({ options: pinned, keep_alive: -1 }),
    });
  });

  afterAll(async () => {
    await backend.close();
    await fake.close();
  });

  const send = async (options: Record<string, unknown>) => {
    const body = { model: MODEL, prompt: 'hi', stream: false, options };
    const res = await backend.forward({ name: MODEL, upstream: MODEL } as BackendModel, { method: 'POST', path: '/api/generate', body, signal: new AbortController().signal });
    await readText(res.body);
    return fake.requests.filter((r) => r.path === '/api/generate').at(-1)!.body as { options: Record<string, unknown> };
  };

  it('sends the body as prepared when its options are the pins', async () => {
    pinned = { num_ctx: 4096 };
    expect((await send({ num_ctx: 4096, temperature: 0.2 })).options).toEqual({ num_ctx: 4096, temperature: 0.2 });
  });

  it('writes in a context that grew after the request was prepared, keeping its sampling options', async () => {
    pinned = { num_ctx: 16384 };
    expect((await send({ num_ctx: 4096, temperature: 0.2 })).options).toEqual({ num_ctx: 16384, temperature: 0.2 });
  });
});
