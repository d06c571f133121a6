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
