import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamPool } from './upstream-pool.js';

describe('UpstreamPool with a breaker', () => {
  let server: Server | undefined;
  let pool: UpstreamPool | undefined;
  afterEach(async () => {
    await pool?.close();
    server?.closeAllConnections();
    server?.close();
  });

  it("a call ended by the caller's own deadline is the caller's: a timeout, not counted against the backend", async () => {
    server = createServer(() => {}); // takes requests and never answers
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    pool = new UpstreamPool(`http://127.0.0.1:${port}`, {
      backend: 'remote', timeouts: { firstByteMs: 60_000, idleMs: 60_000 },
      breaker: { settings: { failures: 1, openMs: 60_000, maxOpenMs: 60_000 }, probePath: '/health' },
    });
    const deadline = new AbortController();
    const arrived = once(server, 'request') as Promise<[IncomingMessage]>;
    const call = pool.request({ method: 'GET', path: '/status', signal: deadline.signal });
    await arrived;
    deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));

    await expect(call).rejects.toMatchObject({ code: 'WG_UPSTREAM_TIMEOUT', message: 'backend remote (http://127.0.0.1:' + port + ') sent no reply in time' });
    expect(pool.breaker?.state).toBe('closed');
  });
});
