/** A client that declares a body and stops sending it gets 408 in its dialect, and its connection closed, after server.body_idle_timeout_s. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { testGateway } from '../support/gateway.js';

let upstream: FakeOllama;
let gw: RunningGateway;
beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: 'llama3.2:latest' }] });
  await upstream.start();
  gw = await testGateway({ server: { body_idle_timeout_s: 0.2 }, backends: { o: { kind: 'ollama', url: upstream.url } } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

/** Sends headers declaring 100 bytes and only 10 of them; resolves with everything the server sent until it closed. */
function stalledPost(path: string): Promise<string> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`);
    });
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
  });
}

describe('a stalled request body', () => {
  it('gets 408 with an Ollama error body on /api/chat, and the connection is closed', async () => {
    const reply = await stalledPost('/api/chat');
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).toMatch(/connection: close/i);
    expect(reply).toContain('{"error":"the client sent no more of its request body for 0.2 s (server.body_idle_timeout_s)"}');
  });

  it('gets 408 with an OpenAI error body on /v1/chat/completions', async () => {
    const reply = await stalledPost('/v1/chat/completions');
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).toMatch(/"error":\{"message":"the client sent no more of its request body/);
  });
});
