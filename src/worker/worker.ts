/**
 * The embedded worker process: `node --import tsx src/worker/worker.ts --model FILE ...`
 * (flags in cli-args.ts). It serves llama-server's HTTP API for one GGUF.
 *
 * Contract with the parent:
 * - stdout carries exactly two JSON lines: `{"event":"listening","port":N}` once the socket
 *   is bound (before loading, so `/health` can answer 503), then
 *   `{"event":"ready","load_ms":N,"rss":N}` once the model is loaded and warmed up.
 *   Logs go to stderr (pino JSON lines).
 * - Bad flags exit 2; a failed load or any unrecoverable error exits 1 (never half-alive).
 * - SIGTERM/SIGINT: stop accepting, abort generations in flight, dispose the model, exit 0.
 * - With `--exit-with-stdin` (the gateway passes it): exits as soon as stdin closes, i.e.
 *   when the gateway holding the pipe is gone, however it died.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createLogger } from '../telemetry/logger.js';
import { createWorkerApp } from './app.js';
import { parseWorkerArgs, type WorkerConfig } from './cli-args.js';
import { Engine } from './engine.js';

/** Replies still going this long after SIGTERM (aborted streams end sooner) are cut. */
const CLOSE_GRACE_MS = 5_000;

// stdout is the protocol channel: whatever a library prints there goes to stderr instead.
console.log = console.info = console.debug = console.error;

const log = createLogger(process.env.WARMGATE_WORKER_LOG_LEVEL ?? 'info', process.stderr).child({ component: 'worker' });

function announce(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function die(err: unknown, message: string): never {
  log.fatal({ err }, message);
  process.exit(1);
}

let config: WorkerConfig;
try {
  config = parseWorkerArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

process.on('uncaughtException', (err) => die(err, 'uncaught exception'));
process.on('unhandledRejection', (err) => die(err, 'unhandled rejection'));

let engine: Engine | undefined;
let closing = false;

const server = serve(
  { fetch: createWorkerApp(() => engine, log).fetch, hostname: config.host, port: config.port },
  (info) => announce({ event: 'listening', port: info.port }),
) as Server; // serve() builds a plain node:http server unless told otherwise
server.on('error', (err) => die(err, 'HTTP server failed'));
// close() drops only the keep-alive connections idle at that moment, and Node does not
// always count a connection idle after its reply; so once closing and no reply is left in
// flight, every remaining connection is idle and is dropped.
let inFlight = 0;
const dropIdle = () => {
  if (closing && inFlight === 0) server.closeAllConnections();
};
server.on('request', (_req, res) => {
  inFlight++;
  res.once('close', () => {
    inFlight--;
    dropIdle();
  });
});

process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
if (config.exitWithStdin) {
  // The gateway holds the other end of this pipe: it closes when the gateway dies, even by
  // SIGKILL, which the gateway cannot catch to stop its workers.
  process.stdin.once('close', () => process.exit(0));
  process.stdin.once('end', () => process.exit(0));
  process.stdin.resume();
}

try {
  engine = await Engine.load(config, (level, message) => log[level]({ source: 'llama.cpp' }, message.trim()));
} catch (err) {
  die(err, `cannot load ${config.model}`);
}
const memory = await engine.memory();
const { alias, contextSize, slots, gpuLayers, loadMs } = engine.info;
log.info({ model: config.model, alias, contextSize, slots, gpuLayers, loadMs, ...memory }, 'model ready');
announce({ event: 'ready', load_ms: Math.round(engine.info.loadMs), rss: memory.rss_bytes });

async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  log.info({ signal }, 'shutting down');
  // Still loading: nothing to finish, and exiting frees whatever the load took.
  if (!engine) process.exit(0);
  const closed = new Promise((resolve) => server.close(resolve));
  engine.generator?.abortAll();
  dropIdle();
  setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
  await closed;
  try {
    await engine.dispose();
  } catch (err) {
    die(err, 'dispose failed');
  }
  process.exit(0);
}
