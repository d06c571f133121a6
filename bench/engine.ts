/**
 * `npm run bench -- engine [--json] [--size-mb 250] [--runs 12] [--n-predict 64] [--threads 1]`
 *
 * The embedded worker (child process, HTTP, non-streamed `/completion`) against
 * node-llama-cpp in this process, on the same synthetic Q8_0 model with the same setup:
 * one sequence, the same context, greedy sampling, no repeat penalty, end-of-generation
 * tokens forbidden so every run generates exactly `n-predict` tokens. Runs alternate
 * between the two so drifting machine load hits both alike.
 *
 * - load_ms: getLlama + model + context + a 4-token warm-up (the worker's own `load_ms`);
 *   the worker also reports spawn-to-ready, which adds Node and tsx start-up.
 * - tokens_per_s: generated tokens / wall time of the whole request as its caller sees it
 *   (prompt included; for the worker, HTTP and JSON too), best of the runs: on a shared
 *   machine the fastest run is the one least disturbed by neighbours. Medians are given too.
 * - overhead_pct: how much lower the worker's best tokens/s is (target: under 10).
 *
 * One thread by default: on a small shared machine llama.cpp's spinning threads collapse
 * when oversubscribed, which would measure the neighbours rather than the worker.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import { cachedModel } from '../test/support/cached-model.js';
import { forbidEndOfGeneration } from '../src/worker/generator.js';
import { toGenerationParams } from '../src/worker/sampling.js';
import { startWorker } from '../src/worker/spawn-worker.js';
import { specForSize } from '../src/gguf/index.js';
import type { BenchOptions, BenchResult } from './run.js';

const PROMPT = 'The quick brown fox jumps over the lazy dog and then';
/** Sampling fields of every request: greedy, and generate past end-of-generation tokens. */
const REQUEST = { temperature: 0, ignore_eos: true };
const CTX = 2048;

interface Settings {
  sizeMb: number;
  runs: number;
  nPredict: number;
  threads: number;
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      'size-mb': { type: 'string', default: '250' },
      runs: { type: 'string', default: '12' },
      'n-predict': { type: 'string', default: '64' },
      threads: { type: 'string', default: '1' },
    },
  });
  const s = { sizeMb: Number(values['size-mb']), runs: Number(values.runs), nPredict: Number(values['n-predict']), threads: Number(values.threads) };
  for (const [k, v] of Object.entries(s)) if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer`);
  return s;
}

/** node-llama-cpp in this process, set up the way the worker sets up one slot. */
async function loadInProcess(path: string, s: Settings) {
  const startedAt = performance.now();
  const llama = await getLlama({ build: 'never', progressLogs: false });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ sequences: 1, contextSize: CTX, threads: s.threads });
  const sequence = context.getSequence();
  const neverEog = forbidEndOfGeneration(model);
  const generate = async (maxTokens: number) => {
    // The sampling the worker derives from the same request fields.
    const p = toGenerationParams(REQUEST, maxTokens, CTX);
    const completion = new LlamaCompletion({ contextSequence: sequence });
    try {
      const { metadata } = await completion.generateCompletionWithMeta(model.tokenize(PROMPT, true), {
        maxTokens: p.maxTokens, temperature: p.temperature, topK: p.topK, topP: p.topP, minP: p.minP,
        repeatPenalty: p.repeatPenalty, tokenBias: neverEog, disableContextShift: true,
      });
      if (metadata.stopReason !== 'maxTokens') throw new Error(`in-process run stopped early: ${metadata.stopReason}`);
    } finally {
      completion.dispose({ disposeSequence: false });
      await sequence.clearHistory();
    }
  };
  await generate(4);
  return { loadMs: performance.now() - startedAt, generate, dispose: () => llama.dispose() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (xs: number[]) => Math.max(...xs);
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const s = settings(opts.args);
  const spec = specForSize(s.sizeMb * 1e6, { tensorType: 'q8_0', name: 'warmgate-bench-engine' });
  opts.log(`model: ${s.sizeMb} MB Q8_0 (${spec.layers} layers, embd ${spec.embd}), ${s.runs} runs x ${s.nPredict} tokens, ${s.threads} thread(s)`);
  const model = await cachedModel(spec);

  const spawnedAt = performance.now();
  const worker = await startWorker({ model: model.path, ctx: CTX, parallel: 1, threads: s.threads });
  const spawnToReadyMs = performance.now() - spawnedAt;
  opts.log(`worker ready: load ${worker.loadMs} ms, spawn-to-ready ${Math.round(spawnToReadyMs)} ms`);
  const inProcess = await loadInProcess(model.path, s);
  opts.log(`in-process ready: load ${Math.round(inProcess.loadMs)} ms`);

  const workerTps: number[] = [];
  const workerDecodeTps: number[] = [];
  const inProcessTps: number[] = [];
  try {
    for (let i = 0; i < s.runs; i++) {
      let t = performance.now();
      const res = await fetch(`${worker.url}/completion`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: PROMPT, n_predict: s.nPredict, ...REQUEST }),
      });
      const body = (await res.json()) as { tokens_predicted: number; timings: { predicted_per_second: number } };
      if (body.tokens_predicted !== s.nPredict) throw new Error(`worker run generated ${body.tokens_predicted} tokens`);
      workerTps.push((1000 * s.nPredict) / (performance.now() - t));
      workerDecodeTps.push(body.timings.predicted_per_second);

      t = performance.now();
      await inProcess.generate(s.nPredict);
      inProcessTps.push((1000 * s.nPredict) / (performance.now() - t));
      opts.log(`run ${i + 1}/${s.runs}: worker ${round(workerTps[i])} tok/s, in-process ${round(inProcessTps[i])} tok/s`);
    }
  } finally {
    await worker.stop();
    await inProcess.dispose();
  }

  const overhead = (f: (xs: number[]) => number) => round((100 * (f(inProcessTps) - f(workerTps))) / f(inProcessTps));
  return {
    model_bytes: model.bytes,
    n_predict: s.nPredict,
    runs: s.runs,
    threads: s.threads,
    worker: {
      load_ms: worker.loadMs,
      spawn_to_ready_ms: Math.round(spawnToReadyMs),
      tokens_per_s: round(best(workerTps)),
      median_tokens_per_s: round(median(workerTps)),
      /** The worker's own `timings.predicted_per_second` (generation only, no prompt, no HTTP). */
      decode_tokens_per_s: round(best(workerDecodeTps)),
    },
    in_process: {
      load_ms: Math.round(inProcess.loadMs),
      tokens_per_s: round(best(inProcessTps)),
      median_tokens_per_s: round(median(inProcessTps)),
    },
    overhead_pct: overhead(best),
    median_overhead_pct: overhead(median),
  };
}
