/**
 * `node reference-proxy.ts UPSTREAM_URL [--hono]`: what a proxy hop costs with no gateway
 * logic, for the overhead bench to measure beside the gateway. Each request's method, path
 * and body bytes go to UPSTREAM through one undici Pool, and the reply comes back chunk by
 * chunk: no parsing, no routing decisions, no scheduling, no records.
 *
 * - default: a bare node:http server (the least any Node proxy pays);
 * - `--hono`: the same on Hono and @hono/node-server used the documented way (body from
 *   `c.req.arrayBuffer()`, the reply as a web-stream `Response`): the framework's own share.
 *
 * Prints `reference proxy listening on URL` on stderr; exits on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Pool } from 'undici';

const [upstream, mode] = process.argv.slice(2);
if (!upstream || (mode !== undefined && mode !== '--hono')) {
  process.stderr.write('usage: reference-proxy.ts UPSTREAM_URL [--hono]\n');
  process.exit(2);
}
const pool = new Pool(upstream, { connections: 256 });

function forward(method: string, path: string, contentType: string | undefined, body: Buffer | undefined) {
  return pool.request({ method: method as 'POST', path, headers: { 'content-type': contentType ?? 'application/json' }, body });
}

async function nodeHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const up = await forward(req.method ?? 'GET', req.url ?? '/', req.headers['content-type'], chunks.length ? Buffer.concat(chunks) : undefined);
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch (err) {
    res.destroy(err as Error);
  }
}

const listening = (port: number) => process.stderr.write(`reference proxy listening on http://127.0.0.1:${port}\n`);

if (mode === '--hono') {
  const app = new Hono();
  app.all('*', async (c) => {
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : Buffer.from(await c.req.arrayBuffer());
    const up = await forward(c.req.method, c.req.path, c.req.header('content-type'), body);
    const headers = { 'content-type': String(up.headers['content-type'] ?? 'application/json') };
    return new Response(Readable.toWeb(up.body) as ReadableStream, { status: up.statusCode, headers });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => listening(info.port));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  const server = createServer((req, res) => void nodeHandler(req, res));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') listening(address.port);
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
