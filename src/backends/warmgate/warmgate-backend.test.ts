import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendModel } from '../backend.js';
import { WarmgateBackend } from './warmgate-backend.js';

const MODEL = { name: 'chat', upstream: 'chat', config: {} } as unknown as BackendModel;

describe('a warmgate backend generation', () => {
  let server: Server | undefined;
  let backend: WarmgateBackend | undefined;
  afterEach(async () => {
    await backend?.close();
    server?.closeAllConnections();
    server?.close();
  });

  it('a reader that stops after the first event closes the remote reply (the connection is not held until the idle timeout)', async () => {
    let reply: ServerResponse | undefined;
    server = createServer((_req, res) => {
      reply = res;
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ model: 'chat', message: { role: 'assistant', content: 'Hel' }, done: false })}\n`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    backend = new WarmgateBackend('remote', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeouts: { firstByteMs: 60_000, idleMs: 60_000 } });
    const events = backend.generate(MODEL, { kind: 'chat', model: 'chat', messages: [{ role: 'user', content: 'hi' }] } as never, new AbortController().signal);

    for await (const ev of events) {
      expect(ev).toMatchObject({ type: 'delta' });
      break;
    }
    await once(reply!, 'close');
  });
});

const socketClosed = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });

describe('a remote Warmgate that drops a passthrough reply midway', () => {
  const host = new WarmgateBackend('gpu1', { url: 'http://127.0.0.1:1', timeouts: { firstByteMs: 1000, idleMs: 1000 } });

  it('is named, with the code a crashed backend carries, instead of undici\'s "other side closed"', () => {
    const err = host.brokenReply(MODEL, socketClosed, new AbortController().signal);
    expect(err).toMatchObject({ code: 'WG_BACKEND_CRASHED', message: expect.stringContaining('Warmgate backend gpu1 closed the connection in the middle of the reply for chat') });
  });

  it('leaves alone a reply our side stopped reading, and any other failure', () => {
    const stopped = new AbortController();
    stopped.abort();
    expect(host.brokenReply(MODEL, socketClosed, stopped.signal)).toBeUndefined();
    expect(host.brokenReply(MODEL, new Error('bad JSON'), new AbortController().signal)).toBeUndefined();
  });
});
