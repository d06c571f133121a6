/**
 * What people put in front of several Ollama daemons without a gateway: nginx's `upstream`
 * block with its defaults, written small. Every request goes to the next daemon in turn,
 * whatever the model; the reply comes back chunk by chunk. nginx's defaults kept:
 * - passive health (`max_fails=1 fail_timeout=10s`): a daemon that could not be reached is
 *   skipped for 10 s (if every one is, the turn goes on regardless);
 * - `proxy_next_upstream error timeout`: a GET that could not reach its daemon is tried on
 *   the next one; a POST is not (nginx does not retry non-idempotent requests), it gets 502;
 * - a reply cut by the daemon is cut for the client too (the connection closed mid-body).
 * The 502's body is JSON in Ollama's dialect (nginx's is an HTML page), so the client reads
 * its message as it would any daemon error; what is counted does not change.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { readText, sendJson } from '../../test/fakes/fake-http.js';

const FAIL_TIMEOUT_MS = 10_000;

export interface RoundRobinProxy {
  url: string;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(upstreams: readonly string[]): Promise<RoundRobinProxy> {
  const peers = upstreams.map((url) => ({ pool: new Pool(url, { connections: 256 }), downUntil: 0 }));
  let turn = 0;
  const next = () => {
    const now = performance.now();
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[turn++ % peers.length];
      if (peer.downUntil <= now) return peer;
    }
    return peers[turn++ % peers.length];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? 'GET') as 'GET';
    const text = await readText(req);
    const idempotent = method === 'GET' || method === 'HEAD';
    for (let tries = 0; ; tries++) {
      const peer = next();
      let reply;
      try {
        reply = await peer.pool.request({
          method, path: req.url ?? '/', body: idempotent ? undefined : text,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        });
      } catch (err) {
        peer.downUntil = performance.now() + FAIL_TIMEOUT_MS;
        if (idempotent && tries + 1 < peers.length) continue;
        return sendJson(res, 502, { error: `bad gateway: ${(err as Error).message}` });
      }
      res.writeHead(reply.statusCode, { 'content-type': String(reply.headers['content-type'] ?? 'application/json') });
      try {
        for await (const chunk of reply.body) res.write(chunk);
        res.end();
      } catch {
        res.destroy();
      }
      return;
    }
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(peers.map((p) => p.pool.close()));
    },
  };
}
