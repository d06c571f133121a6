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
 * Two more paths are references, proxies with no gateway logic (bench/support/
 * reference-proxy.ts: one undici Pool forwarding bytes, no parsing), run as children like
 * the gateway: `reference` on bare node:http (what any Node proxy hop costs on this
 * machine) and `reference_hono` on Hono and @hono/node-server (the framework the gateway is
 * served on) used the documented way: the body from `c.req.arrayBuffer()`, the reply as a
 * web-stream `Response` (the gateway reads and writes Node's objects directly instead). The
 * gateway's own share can be read off; the targets apply to the gateway.
 *
 * Each case runs in ROUNDS rounds, rotating which path goes first, so drift in the
 * machine's load hits all alike. Both paths are warmed first (the first
 * request loads the model in the fake and discovers it in the gateway; JIT, connections).
 *
 * Layout (`--layout`, default child): the gateway runs as `warmgate serve --ollama URL
 * --port 0` in a child process, as it is deployed, with its own event loop (and on a 2-core
 * machine its own core), so the client's and the fake's callbacks never queue behind the
 * gateway's or the reverse; and its CPU can be read apart (/proc), which is the figure that
 * stays steady when neighbours load the machine. The fake stays in this process with the
 * load generator: a third busy process would make the gateway path alone fight for two
 * cores. `--layout inproc` (all in one process) is kept for comparison: it shows a lower
 * added latency at concurrency 1 (no wake-up of another process per hop).
 * Both layouts serve `--config` with a file this bench writes: the fake as an Ollama backend
 * whose `parallel` is MAX_CONCURRENCY, so the gateway lets through as many requests at once
 * as the direct path sends (the default of 4, right for a real daemon, would measure an
 * admission limit, not overhead). Logs stay on (`info`, one JSON line per request) and go
 * to /dev/null. `--profile DIR` starts the child with `--cpu-prof`, which writes its V8 CPU
 * profile into DIR when it stops.
 *
 * Targets: added p50 <= 1 ms in every case; at concurrency 64 also gateway throughput
 * >= 0.8 of direct. Added = gateway minus direct, from unrounded percentiles.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { loadConfig, parseServeFlags } from '../src/config/load.js';
import { TSX_LOADER } from '../src/worker/spawn-worker.js';
import { startGateway } from '../src/app/server.js';
import { createLogger } from '../src/telemetry/logger.js';
import { FakeOllama } from '../test/fakes/ollama-upstream.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round, runBounded } from './util.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REFERENCE_PROXY = fileURLToPath(new URL('./support/reference-proxy.ts', import.meta.url));
const MODEL = 'llama3.2:latest';
/** The fake echoes it (`You said: ...`): 8 content lines and a done line per streamed reply. */
const PROMPT = 'Say hello to the gateway, briefly.';
const TARGETS = { added_p50_ms_max: 1, throughput_ratio_min_c64: 0.8 };
const ROUNDS = 6;
const MAX_CONCURRENCY = 64;

interface Case {
  stream: boolean;
  concurrency: number;
  /** Requests per path (direct, gateway), over all rounds. */
  count: number;
  /** Time cap per path, over all rounds (all caps and the warm-ups keep the bench under 2 minutes). */
  maxMs: number;
}

const CASES: Case[] = [
  { stream: false, concurrency: 1, count: 600, maxMs: 6_000 },
  { stream: false, concurrency: MAX_CONCURRENCY, count: 6_000, maxMs: 15_000 },
  { stream: true, concurrency: 1, count: 600, maxMs: 6_000 },
  { stream: true, concurrency: MAX_CONCURRENCY, count: 6_000, maxMs: 15_000 },
];

interface Samples {
  /** ms to the first complete line (the whole reply when not streamed). */
  first: number[];
  /** ms to the end of the body. */
  total: number[];
  completed: number;
  wallMs: number;
  /** CPU ms this process (client and fake) spent while this path ran. */
  hereCpuMs: number;
  /** CPU ms the path's own child process (gateway, reference proxy) spent meanwhile; 0 for direct or in-process. */
  childCpuMs: number;
}

type PathName = 'direct' | 'gateway' | 'reference' | 'reference_hono';

interface Target {
  name: PathName;
  pool: Pool;
  /** CPU ms its child process has used so far; undefined when it has none. */
  cpuMs(): number | undefined;
}

interface RunningServer {
  url: string;
  /** CPU ms (user + system) the server's own process has used so far; undefined when it shares this one. */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const { values } = parseArgs({ args: opts.args, options: { layout: { type: 'string', default: 'child' }, profile: { type: 'string' } } });
  const layout = values.layout;
  if (layout !== 'child' && layout !== 'inproc') throw new Error('--layout must be child or inproc');
  if (values.profile && layout !== 'child') throw new Error('--profile needs --layout child');

  const loadBefore = loadavg()[0];
  const fake = new FakeOllama({ models: [{ name: MODEL }] });
  await fake.start();
  const servers: RunningServer[] = [];
  let results: Record<string, Record<string, unknown>>;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'warmgate-bench-'));
    const configFile = join(dir, 'warmgate.yaml');
    writeFileSync(configFile, JSON.stringify({ backends: { ollama: { kind: 'ollama', url: fake.url, discover: true, parallel: MAX_CONCURRENCY } } }));
    const gw = await (layout === 'child' ? childGateway(configFile, values.profile) : inProcessGateway(configFile)).finally(() => rmSync(dir, { recursive: true }));
    servers.push(gw);
    const reference = await childServer([REFERENCE_PROXY, fake.url], /reference proxy listening on (\S+)/);
    servers.push(reference);
    const referenceHono = await childServer([REFERENCE_PROXY, fake.url, '--hono'], /reference proxy listening on (\S+)/);
    servers.push(referenceHono);
    opts.log(`gateway ${gw.url} (${layout}), reference proxies ${reference.url} (node:http) and ${referenceHono.url} (Hono), upstream ${fake.url}`);
    results = await measureAll([
      { name: 'direct', url: fake.url, cpuMs: () => undefined },
      { name: 'gateway', url: gw.url, cpuMs: () => gw.cpuMs() },
      { name: 'reference', url: reference.url, cpuMs: () => reference.cpuMs() },
      { name: 'reference_hono', url: referenceHono.url, cpuMs: () => referenceHono.cpuMs() },
    ], opts.log);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await fake.close();
  }
  return {
    ...results,
    targets: TARGETS,
    pass: Object.values(results).every((c) => c.pass),
    setup: {
      layout, rounds: ROUNDS, requests_c1: CASES[0].count, requests_c64: CASES[1].count, gateway_parallel: MAX_CONCURRENCY,
      cpus: cpus().length, loadavg_1m_before: round(loadBefore, 2), loadavg_1m_after: round(loadavg()[0], 2), node: process.version,
    },
  };
}

async function measureAll(paths: Array<{ name: PathName; url: string; cpuMs(): number | undefined }>, log: (l: string) => void): Promise<Record<string, Record<string, unknown>>> {
  const targets: Target[] = paths.map((p) => ({ ...p, pool: new Pool(p.url, { connections: MAX_CONCURRENCY, pipelining: 1 }) }));
  const results: Record<string, Record<string, unknown>> = {};
  try {
    for (const t of targets) await warmUp(t.pool);
    for (const c of CASES) {
      const samples = await measure(c, targets);
      const tag = `c${c.concurrency}`;
      for (const [name, s] of Object.entries(samples)) log(`${c.stream ? 'stream' : 'nonstream'}_${tag} ${name}: ${s.completed} requests in ${Math.round(s.wallMs)} ms`);
      if (c.stream) {
        results[`stream_ttfc_${tag}`] = compare(c, samples, 'first');
        results[`stream_full_${tag}`] = compare(c, samples, 'total');
      } else {
        results[`nonstream_${tag}`] = compare(c, samples, 'total');
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.pool.close()));
  }
  return results;
}

/** Rounds rotating which path goes first; samples and CPU pooled per path. */
async function measure(c: Case, targets: Target[]): Promise<Record<PathName, Samples>> {
  const empty = (): Samples => ({ first: [], total: [], completed: 0, wallMs: 0, hereCpuMs: 0, childCpuMs: 0 });
  const out: Record<PathName, Samples> = { direct: empty(), gateway: empty(), reference: empty(), reference_hono: empty() };
  const load = { concurrency: c.concurrency, count: Math.ceil(c.count / ROUNDS), maxMs: c.maxMs / ROUNDS };
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of [...targets.slice(r % targets.length), ...targets.slice(0, r % targets.length)]) {
      const s = out[t.name];
      const here = process.cpuUsage();
      const there = t.cpuMs() ?? 0;
      const done = await runBounded(load, async () => {
        const { first, total } = await chat(t.pool, c.stream);
        s.first.push(first);
        s.total.push(total);
      });
      const used = process.cpuUsage(here);
      s.hereCpuMs += (used.user + used.system) / 1000;
      s.childCpuMs += (t.cpuMs() ?? 0) - there;
      s.completed += done.completed;
      s.wallMs += done.wallMs;
    }
  }
  return out;
}

/**
 * One case's figures. `cpu_ms_per_req` is steadier than rps on a busy machine (it leaves out
 * time spent waiting for a core): `client_and_upstream` is this process per direct request,
 * `gateway` the gateway's process per gateway request (child layout only), `reference` and
 * `reference_hono` each reference proxy's per request through it.
 */
function compare(c: Case, samples: Record<PathName, Samples>, metric: 'first' | 'total'): Record<string, unknown> {
  const { direct, gateway, reference, reference_hono: referenceHono } = samples;
  const [d50, d99] = percentiles(direct[metric], [50, 99]);
  const rps = (s: Samples) => s.completed / (s.wallMs / 1000);
  const against = (s: Samples) => {
    const [p50, p99] = percentiles(s[metric], [50, 99]);
    return { p50, p99, ratio: rps(s) / rps(direct), figures: { p50_ms: round(p50), p99_ms: round(p99), rps: Math.round(rps(s)) } };
  };
  const gw = against(gateway);
  const ref = against(reference);
  const refHono = against(referenceHono);
  const perReq = (s: Samples) => (s.childCpuMs > 0 ? round(s.childCpuMs / s.completed) : undefined);
  return {
    direct: { p50_ms: round(d50), p99_ms: round(d99), rps: Math.round(rps(direct)) },
    gateway: gw.figures,
    added_p50_ms: round(gw.p50 - d50),
    added_p99_ms: round(gw.p99 - d99),
    throughput_ratio: round(gw.ratio, 2),
    reference: { ...ref.figures, added_p50_ms: round(ref.p50 - d50), throughput_ratio: round(ref.ratio, 2) },
    reference_hono: { ...refHono.figures, added_p50_ms: round(refHono.p50 - d50), throughput_ratio: round(refHono.ratio, 2) },
    cpu_ms_per_req: {
      client_and_upstream: round(direct.hereCpuMs / direct.completed),
      gateway: perReq(gateway),
      reference: perReq(reference),
      reference_hono: perReq(referenceHono),
    },
    pass: gw.p50 - d50 <= TARGETS.added_p50_ms_max && (c.concurrency < MAX_CONCURRENCY || gw.ratio >= TARGETS.throughput_ratio_min_c64),
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
  if (res.statusCode !== 200) throw new Error(`/api/chat answered ${res.statusCode}: ${await res.body.text()}`);
  let first: number | undefined;
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
function childGateway(configFile: string, profileDir: string | undefined): Promise<RunningServer> {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  return childServer([...profile, MAIN, 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'], /warmgate listening on (\S+)/);
}

/** A node child (with the tsx loader) that prints its URL on stderr; logs go nowhere. */
async function childServer(args: string[], listening: RegExp): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM lets the server close and exit, which is when --cpu-prof writes its profile.
    child.kill('SIGTERM');
    await exited;
  };
  const stderr: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      const m = listening.exec(line);
      if (m) resolve(m[1]);
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`${args.join(' ')} exited before listening:\n${stderr.join('\n')}`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { url, cpuMs: () => processCpuMs(child.pid!), stop };
}

/**
 * utime + stime of a process from Linux's /proc/PID/stat (fields 14 and 15, in ticks of
 * 1/100 s: USER_HZ is 100 wherever /proc exists); undefined elsewhere.
 */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The gateway in this process, configured as `serve` would be; its logs go to /dev/null as the child's do. */
async function inProcessGateway(configFile: string): Promise<RunningServer> {
  const config = loadConfig(parseServeFlags(['--config', configFile, '--host', '127.0.0.1', '--port', '0']));
  const running = await startGateway(config, createLogger(config.log.level, createWriteStream('/dev/null')));
  return { url: running.url, cpuMs: () => undefined, stop: () => running.close() };
}
