/** A client that closes its connection while the gateway still reads its request body is recorded as 499 (it left), never as a 500. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { testGateway } from '../support/gateway.js';
import { until } from '../support/records.js';

let upstream: FakeOllama;
let gw: RunningGateway;
beforeAll(async () => {
  upstream = new FakeOllama({ models: [{ name: 'llama3.2:latest' }] });
  await upstream.start();
  gw = await testGateway({ backends: { o: { kind: 'ollama', url: upstream.url } } });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

/**
 * Declares 100 000 bytes and sends a few; once the gateway has taken the request (Node
 * answers `Expect: 100-continue` as it hands the request over), closes the connection.
 */
async function abortedUpload(path: string): Promise<void> {
  const { port } = new URL(gw.url);
  const before = gw.telemetry.recent().length;
  const socket = connect(Number(port), '127.0.0.1');
  const continued = new Promise((resolve) => socket.once('data', resolve));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n`);
  expect(String(await continued)).toMatch(/^HTTP\/1\.1 100 Continue/);
  socket.write('{"model":"llama3.2","messages":[');
  socket.destroy();
  await until(async () => gw.telemetry.recent().length, (n) => n > before);
}

describe('a client-aborted upload', () => {
  for (const path of ['/api/chat', '/v1/chat/completions', '/completion']) {
    it(`is recorded as 499 on ${path}`, async () => {
      await abortedUpload(path);
      const record = gw.telemetry.recent().find((r) => r.route === path);
      expect(record).toMatchObject({ status: 499, error_code: 'WG_CLIENT_CLOSED' });
    });
  }
});
