/**
 * `node reference-proxy.ts UPSTREAM_URL`: the least a proxy hop can cost, for the overhead
 * bench to measure beside the gateway. A node:http server that forwards each request's
 * method, path and body bytes to UPSTREAM with one undici Pool and pipes the reply back chunk
 * by chunk: no parsing, no routing, no scheduling, no records. Prints
 * `reference proxy listening on URL` on stderr; exits on SIGTERM.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = process.argv[2];
if (!upstream) {
  process.stderr.write('usage: reference-proxy.ts UPSTREAM_URL\n');
  process.exit(2);
}
const pool = new Pool(upstream, { connections: 256 });

const server = createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const up = await pool.request({
      method: req.method as 'POST', path: req.url ?? '/', headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch (err) {
    res.destroy(err as Error);
  }
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stderr.write(`reference proxy listening on http://127.0.0.1:${address.port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
