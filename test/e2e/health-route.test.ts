import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { testGateway } from '../support/gateway.js';
import type { RunningGateway } from '../../src/app/server.js';

/** `GET /warmgate/health`: what the container HEALTHCHECK calls; it never waits on a backend. */
describe('GET /warmgate/health', () => {
  let upstream: FakeOllama;
  let gateway: RunningGateway;

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: 'llama3.2:latest' }] });
    await upstream.start();
    gateway = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } } });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('answers 200 {"status":"ok"} without calling the backend', async () => {
    const before = upstream.requests.length;
    const res = await fetch(`${gateway.url}/warmgate/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(upstream.requests.length).toBe(before);
  });
});
