/**
 * `npm run bench -- overhead [--json] [--layout child|inproc] [--profile DIR]`
 *
 * The latency and throughput the gateway adds over calling an upstream that answers at
 * once: the scripted Ollama daemon (test/fakes), which sleeps nowhere (its nanosecond
 * durations are made-up numbers, not waits). The same client code (an undici Pool,
 * keep-alive, one connection per concurrent request) sends the same `/api/chat` to the
 * fake directly and through the gateway, side by side in one run:
 *
 * - nonstream: `stream: false`, time to the whole reply;
 * - stream_ttfc / stream_full: `stream: true`, time to the first NDJSON line and to the
 *   end (one set of requests, two figures);
 * - at concurrency 1 and 64 (closed loop), bounded in count and in time per case.
 *
 * Each case runs in ROUNDS rounds alternating direct and gateway (and which goes first),
 * so drift in the machine's load hits both alike. Both paths are warmed first (the first
 * request loads the model in the fake and discovers it in the gateway; JIT, connections).
 *
 * Layout (`--layout`, default child): the fake lives in this process with the load
 * generator; the gateway runs as `warmgate serve --ollama URL --port 0` in a child. On a
 * 2-core machine that keeps at most two busy processes, so the gateway has a core of its
 * own as it would in production, and never shares an event loop with the client — in one
 * process (`--layout inproc`) every gateway cycle is a cycle taken from the client and the
 * fake, which charges the gateway twice at concurrency 64. A third process for the fake
 * would make three busy processes fight for two cores on the gateway path only.
 * The child resolves its config as `serve` does (WARMGATE_CONFIG applies: log level,
 * declared models' `parallel`); logs go to /dev/null. `--profile DIR` starts the child with
 * `--cpu-prof` and writes its V8 CPU profile into DIR when it stops.
 *
 * Targets: added p50 <= 1 ms in every case; at concurrency 64 also gateway throughput
 * >= 0.8 of direct. Added = gateway minus direct, from unrounded percentiles.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { loadConfig, parseServeFlags } from '../src/config/load.js';
import { TSX_LOADER } from '../src/engine/spawn-worker.js';
import { startGateway } from '../src/gateway/server.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FakeOllama } from '../test/fakes/ollama-upstream.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round, runBounded, type LoadResult } from './util.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MODEL = 'llama3.2:latest';
/** The fake echoes it: 7 content lines and a done line per streamed reply. */
const PROMPT = 'Say hello to the gateway, briefly.';
const TARGETS = { added_p50_ms_max: 1, throughput_ratio_min_c64: 0.8 };
const ROUNDS = 4;
const MAX_CONCURRENCY = 64;

interface Case {
  stream: boolean;
  concurrency: number;
  /** Requests per path (direct, gateway), over all rounds. */
  count: number;
  /** Time cap per path, over all rounds. */
  maxMs: number;
}

const CASES: Case[] = [
  { stream: false, concurrency: 1, count: 400, maxMs: 8_000 },
  { stream: false, concurrency: MAX_CONCURRENCY, count: 4_000, maxMs: 12_000 },
  { stream: true, concurrency: 1, count: 400, maxMs: 8_000 },
  { stream: true, concurrency: MAX_CONCURRENCY, count: 4_000, maxMs: 12_000 },
];

interface Samples {
  /** ms to the first complete line (the whole reply when not streamed). */
  first: number[];
  /** ms to the end of the body. */
  total: number[];
  completed: number;
  wallMs: number;
}

interface Target {
  name: 'direct' | 'gateway';
  pool: Pool;
}

interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const { values } = parseArgs({ args: opts.args, options: { layout: { type: 'string', default: 'child' }, profile: { type: 'string' } } });
  const layout = values.layout;
  if (layout !== 'child' && layout !== 'inproc') throw new Error('--layout must be child or inproc');
  if (values.profile && layout !== 'child') throw new Error('--profile needs --layout child');

  const fake = new FakeOllama({ models: [{ name: MODEL }] });
  await fake.start();
  const gw = layout === 'child' ? await childGateway(fake.url, values.profile) : await inProcessGateway(fake.url);
  const targets: Target[] = [
    { name: 'direct', pool: new Pool(fake.url, { connections: MAX_CONCURRENCY, pipelining: 1 }) },
    { name: 'gateway', pool: new Pool(gw.url, { connections: MAX_CONCURRENCY, pipelining: 1 }) },
  ];
  const loadBefore = loadavg()[0];
  const results: Record<string, unknown> = {};
  try {
    for (const t of targets) await warmUp(t.pool);
    opts.log(`warmed up; gateway ${gw.url} (${layout}), upstream ${fake.url}`);
    for (const c of CASES) {
      const samples = await measure(c, targets);
      const tag = `c${c.concurrency}`;
      for (const [name, s] of Object.entries(samples)) opts.log(`${c.stream ? 'stream' : 'nonstream'}_${tag} ${name}: ${s.completed} requests in ${Math.round(s.wallMs)} ms`);
      if (c.stream) {
        results[`stream_ttfc_${tag}`] = compare(c, samples, 'first');
        results[`stream_full_${tag}`] = compare(c, samples, 'total');
      } else {
        results[`nonstream_${tag}`] = compare(c, samples, 'total');
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.pool.close()));
    await gw.stop();
    await fake.close();
  }
  const cases = Object.values(results) as Array<{ pass: boolean }>;
  return {
    ...results,
    targets: TARGETS,
    pass: cases.every((c) => c.pass),
    setup: {
      layout, rounds: ROUNDS, requests_c1: CASES[0].count, requests_c64: CASES[1].count,
      cpus: cpus().length, loadavg_1m_before: round(loadBefore, 2), loadavg_1m_after: round(loadavg()[0], 2), node: process.version,
    },
  };
}

/** Rounds alternating direct and gateway (and which goes first); samples pooled per path. */
async function measure(c: Case, targets: Target[]): Promise<Record<Target['name'], Samples>> {
  const out = Object.fromEntries(targets.map((t) => [t.name, { first: [], total: [], completed: 0, wallMs: 0 } as Samples])) as Record<Target['name'], Samples>;
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const s = out[t.name];
      const load = { concurrency: c.concurrency, count: Math.ceil(c.count / ROUNDS), maxMs: c.maxMs / ROUNDS };
      const done: LoadResult = await runBounded(load, async () => {
        const { first, total } = await chat(t.pool, c.stream);
        s.first.push(first);
        s.total.push(total);
      });
      s.completed += done.completed;
      s.wallMs += done.wallMs;
    }
  }
  return out;
}

function compare(c: Case, samples: Record<Target['name'], Samples>, metric: 'first' | 'total'): Record<string, unknown> {
  const [d50, d99] = percentiles(samples.direct[metric], [50, 99]);
  const [g50, g99] = percentiles(samples.gateway[metric], [50, 99]);
  const rps = (s: Samples) => s.completed / (s.wallMs / 1000);
  const ratio = rps(samples.gateway) / rps(samples.direct);
  const added50 = g50 - d50;
  return {
    direct: { p50_ms: round(d50), p99_ms: round(d99), rps: Math.round(rps(samples.direct)) },
    gateway: { p50_ms: round(g50), p99_ms: round(g99), rps: Math.round(rps(samples.gateway)) },
    added_p50_ms: round(added50),
    added_p99_ms: round(g99 - d99),
    throughput_ratio: round(ratio, 2),
    pass: added50 <= TARGETS.added_p50_ms_max && (c.concurrency < MAX_CONCURRENCY || ratio >= TARGETS.throughput_ratio_min_c64),
  };
}

const BODIES = {
  stream: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], stream: true }),
  whole: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], stream: false }),
};

/** One `/api/chat`, read to the end: ms to the first newline and to the last byte. Non-200 throws. */
async function chat(pool: Pool, stream: boolean): Promise<{ first: number; total: number }> {
  const t0 = performance.now();
  const res = await pool.request({
    method: 'POST', path: '/api/chat', headers: { 'content-type': 'application/json' }, body: stream ? BODIES.stream : BODIES.whole,
  });
  let first: number | undefined;
  if (res.statusCode !== 200) throw new Error(`/api/chat answered ${res.statusCode}: ${await res.body.text()}`);
  for await (const chunk of res.body) if (first === undefined && (chunk as Buffer).includes(10)) first = performance.now() - t0;
  const total = performance.now() - t0;
  return { first: first ?? total, total };
}

/** The first request loads the model (excluded); then a burst of both kinds opens every connection and warms the JIT. */
async function warmUp(pool: Pool): Promise<void> {
  await chat(pool, false);
  await runBounded({ concurrency: MAX_CONCURRENCY, count: 2_000, maxMs: 10_000 }, async (i) => void (await chat(pool, i % 2 === 0)));
}

/** `warmgate serve` in a child process; resolves with the URL its banner prints. */
async function childGateway(upstream: string, profileDir: string | undefined): Promise<RunningGateway> {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...profile, '--import', TSX_LOADER, MAIN, 'serve', '--ollama', upstream, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stderr: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      const m = /warmgate listening on (\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the gateway exited before listening:\n${stderr.join('\n')}`)));
  });
  return {
    url,
    async stop() {
      // SIGTERM lets `serve` close and exit, which is when --cpu-prof writes its profile.
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The gateway in this process, configured as `serve` would be; its logs go to /dev/null as the child's do. */
async function inProcessGateway(upstream: string): Promise<RunningGateway> {
  const config = loadConfig(parseServeFlags(['--ollama', upstream, '--host', '127.0.0.1', '--port', '0']));
  const running = await startGateway(config, createLogger(config.log.level, createWriteStream('/dev/null')));
  return { url: running.url, stop: () => running.close() };
}
