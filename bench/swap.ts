/**
 * `npm run bench -- swap [--json] [--reps 5] [--model-mb 150] [--max-tokens 4] [--poll-ms 10]`
 *
 * What the gateway adds to a cold start (a swap's load) on llama-server: the same generated
 * Q8_0 chat model, the same llama-server binary (`npm run setup:llama-server`) and the same
 * arguments, started two ways, alternating, `reps` times each after one untimed warm-up of
 * each (so both find the file in the page cache):
 *
 * - gateway: the model not loaded, a streamed `/v1/chat/completions` request sent to the
 *   gateway; time from sending it to the first streamed token (the gateway starts the
 *   process, waits for `/health`, then forwards the request). Unloaded again between runs.
 * - direct: spawn the binary by hand with the argv the gateway would use, poll `/health` every
 *   `poll-ms` until 200, send the same request straight to it; time from spawn to the first
 *   streamed token. Stopped between runs.
 *
 * Reported: `gateway_ms`, `direct_ms` (medians), `added_ms` = gateway - direct (target: under
 * 100 ms), the per-run arrays, and where each path's time went: for the gateway, request sent
 * -> backend.load called (parse, resolve, scheduler), backend.load (port, spawn, health
 * polling, measuring), load done -> first token (grant, forward, prompt, first token); for
 * direct, spawn -> healthy and healthy -> first token. One thread (`--threads 1`), CPU only.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { llamaServerCommand, expandCommand } from '../src/backends/process/command-template.js';
import { freePort } from '../src/backends/process/managed-process.js';
import type { ProcessBackend } from '../src/backends/process/process-backend.js';
import { contextOf } from '../src/backends/process/process-footprint.js';
import { sseData } from '../src/dialects/sse.js';
import { llamaGateway, llamaModels, requireLlamaServer } from '../test/contract/llama-rig.js';
import { postJson } from '../test/support/gateway.js';
import { latestRecord } from '../test/support/records.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round } from './util.js';

const MODEL = 'swap-bench-chat';
const TARGET_MS = 100;

interface Settings {
  reps: number;
  modelMb: number;
  maxTokens: number;
  pollMs: number;
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      reps: { type: 'string', default: '5' },
      'model-mb': { type: 'string', default: '150' },
      'max-tokens': { type: 'string', default: '4' },
      'poll-ms': { type: 'string', default: '10' },
    },
  });
  const s = { reps: Number(values.reps), modelMb: Number(values['model-mb']), maxTokens: Number(values['max-tokens']), pollMs: Number(values['poll-ms']) };
  for (const [k, v] of Object.entries(s)) if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer`);
  return s;
}

function requestBody(model: string, maxTokens: number): Record<string, unknown> {
  return {
    model, stream: true, max_tokens: maxTokens, temperature: 0,
    messages: [{ role: 'user', content: 'What does the manual say about part 7?' }],
  };
}

/**
 * POSTs a streamed chat completion and resolves at the first SSE chunk carrying content
 * (the time of that moment, from `performance.now()`); the rest is read to the end.
 */
async function firstToken(url: string, body: unknown): Promise<{ at: number; rest: Promise<void> }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200 || !res.body) throw new Error(`${url}/v1/chat/completions: ${res.status} ${await res.text()}`);
  const events = sseData(res.body)[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await events.next();
    if (done) throw new Error('the stream ended before any token');
    const chunk = JSON.parse(value) as { choices?: Array<{ delta?: { content?: string | null } }>; error?: unknown };
    if (chunk.error) throw new Error(`stream error: ${JSON.stringify(chunk.error)}`);
    if (chunk.choices?.[0]?.delta?.content) {
      const at = performance.now();
      const rest = (async () => {
        while (!(await events.next()).done);
      })();
      return { at, rest };
    }
  }
}

interface GatewayRun {
  total: number;
  preLoad: number;
  load: number;
  postLoad: number;
  record: { queue_ms?: number; load_ms?: number; ttft_ms?: number };
}

interface DirectRun {
  total: number;
  health: number;
  afterHealth: number;
  polls: number;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const s = settings(opts.args);
  const bin = requireLlamaServer();
  opts.log(`llama-server: ${bin}`);
  const { files, models } = await llamaModels({ [MODEL]: { bytes: s.modelMb * 1e6, type: 'chat', seed: 31 } });
  const file = files[MODEL];
  opts.log(`model: ${file.path} (${file.bytes} bytes)`);
  const { gw, backend } = await llamaGateway(models, { ram: 1e12 });
  const entry = gw.registry.known().find((e) => e.name === MODEL)!;
  const body = requestBody(MODEL, s.maxTokens);

  // Marks around the backend's load, for the gateway's breakdown.
  let loadCalled = 0;
  let loadDone = 0;
  const load = backend.load.bind(backend);
  backend.load = async (e, o) => {
    loadCalled = performance.now();
    try {
      return await load(e, o);
    } finally {
      loadDone = performance.now();
    }
  };

  const viaGateway = async (): Promise<GatewayRun> => {
    const unload = await postJson(`${gw.url}/warmgate/models/${MODEL}/unload`, {});
    if (unload.status !== 200) throw new Error(`unload: ${unload.status} ${JSON.stringify(unload.body)}`);
    if (backend.pids().size !== 0) throw new Error('a llama-server process is still alive before a cold start');
    loadCalled = loadDone = 0;
    const t0 = performance.now();
    const { at, rest } = await firstToken(gw.url, body);
    await rest;
    if (!loadCalled) throw new Error('the gateway did not load the model: not a cold start');
    const r = await latestRecord(gw.url, '/v1/chat/completions');
    return {
      total: at - t0, preLoad: loadCalled - t0, load: loadDone - loadCalled, postLoad: at - loadDone,
      record: { queue_ms: r.queue_ms, load_ms: r.load_ms, ttft_ms: r.ttft_ms },
    };
  };

  const direct = async (): Promise<DirectRun> => {
    const port = await freePort();
    // The same load settings as the gateway's (mmap off where this CPU repacks the weights).
    const mmap = await (entry.backend as ProcessBackend).mapsWeights(entry);
    const argv = expandCommand(llamaServerCommand(bin), {
      PORT: port, MODEL: file.path, CTX: contextOf(entry), PARALLEL: entry.config.parallel, GPU_LAYERS: 0, EMBEDDING: false, THREADS: entry.config.threads, MMAP: mmap,
    });
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
    try {
      let polls = 0;
      for (;;) {
        polls++;
        if (child.exitCode !== null) throw new Error(`llama-server exited while loading (code ${child.exitCode})`);
        const ok = await pool.request({ method: 'GET', path: '/health' }).then(async (res) => {
          await res.body.dump();
          return res.statusCode === 200;
        }, () => false);
        if (ok) break;
        if (performance.now() - t0 > 300_000) throw new Error('llama-server was not healthy within 300 s');
        await new Promise((r) => setTimeout(r, s.pollMs));
      }
      const healthy = performance.now();
      const { at, rest } = await firstToken(`http://127.0.0.1:${port}`, body);
      await rest;
      return { total: at - t0, health: healthy - t0, afterHealth: at - healthy, polls };
    } finally {
      await pool.close();
      child.kill('SIGTERM');
      await exited;
    }
  };

  const gatewayRuns: GatewayRun[] = [];
  const directRuns: DirectRun[] = [];
  try {
    opts.log('warm-up (untimed): one gateway cold start, one direct start');
    await viaGateway();
    await direct();
    for (let i = 0; i < s.reps; i++) {
      const g = await viaGateway();
      const d = await direct();
      gatewayRuns.push(g);
      directRuns.push(d);
      opts.log(`run ${i + 1}/${s.reps}: gateway ${g.total.toFixed(1)} ms (pre-load ${g.preLoad.toFixed(1)}, load ${g.load.toFixed(1)}, post-load ${g.postLoad.toFixed(1)}); `
        + `direct ${d.total.toFixed(1)} ms (health ${d.health.toFixed(1)} after ${d.polls} polls, then ${d.afterHealth.toFixed(1)})`);
    }
  } finally {
    await gw.close();
  }

  const median = (xs: number[]) => round(percentiles(xs, [50])[0], 1);
  const gatewayMs = median(gatewayRuns.map((r) => r.total));
  const directMs = median(directRuns.map((r) => r.total));
  const addedRuns = gatewayRuns.map((g, i) => round(g.total - directRuns[i].total, 1));
  return {
    model_bytes: file.bytes,
    reps: s.reps,
    max_tokens: s.maxTokens,
    direct_poll_ms: s.pollMs,
    gateway_ms: gatewayMs,
    direct_ms: directMs,
    added_ms: round(gatewayMs - directMs, 1),
    added_ms_median_of_pairs: median(addedRuns),
    target_ms: TARGET_MS,
    under_target: gatewayMs - directMs < TARGET_MS,
    gateway_runs: gatewayRuns.map((r) => round(r.total, 1)),
    direct_runs: directRuns.map((r) => round(r.total, 1)),
    added_runs: addedRuns,
    gateway_breakdown: {
      pre_load_ms: median(gatewayRuns.map((r) => r.preLoad)),
      backend_load_ms: median(gatewayRuns.map((r) => r.load)),
      post_load_ms: median(gatewayRuns.map((r) => r.postLoad)),
      record_queue_ms: median(gatewayRuns.map((r) => r.record.queue_ms ?? NaN)),
      record_load_ms: median(gatewayRuns.map((r) => r.record.load_ms ?? NaN)),
      record_ttft_ms: median(gatewayRuns.map((r) => r.record.ttft_ms ?? NaN)),
    },
    direct_breakdown: {
      spawn_to_healthy_ms: median(directRuns.map((r) => r.health)),
      healthy_to_first_token_ms: median(directRuns.map((r) => r.afterHealth)),
      health_polls: median(directRuns.map((r) => r.polls)),
    },
  };
}
