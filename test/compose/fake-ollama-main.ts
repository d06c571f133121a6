import { createServer, request } from 'node:http';
import { FakeOllama } from '../fakes/ollama-upstream.js';

/**
 * The scripted Ollama daemon (test/fakes) as a program, for the compose test: it stands in
 * for the `ollama` service of docker-compose.yml. It listens on 0.0.0.0:11434 (or $PORT)
 * and passes every request to the fake, which keeps its loopback port; two routes of its
 * own let the test read what happened inside the container:
 *   GET /__fake/loads   every load (and reload) so far, and the count per model
 *   GET /__fake/health  200 once listening (the service's healthcheck)
 * Bundled into one file with esbuild by test/compose/run.sh and run by plain `node`.
 */

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

const fake = new FakeOllama({
  models: [
    { name: CHAT, contextLength: 131072 },
    { name: EMBED, kind: 'embedding', embeddingLength: 12 },
  ],
});
const { url } = await fake.start();
const target = new URL(url);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__fake/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{"status":"ok"}');
  }
  if (req.method === 'GET' && req.url === '/__fake/loads') {
    const perModel: Record<string, number> = {};
    for (const l of fake.loads) perModel[l.model] = (perModel[l.model] ?? 0) + 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ loads: fake.loads, per_model: perModel, requests: fake.requests.length }));
  }
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `fake proxy: ${err.message}` }));
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
});

const port = Number(process.env.PORT ?? 11434);
server.listen(port, '0.0.0.0', () => process.stdout.write(`scripted ollama listening on 0.0.0.0:${port} (fake at ${url})\n`));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close();
    void fake.close().finally(() => process.exit(0));
  });
}
