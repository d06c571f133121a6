/**
 * Measures what a node-llama-cpp process really takes: runs rss-probe.ts in a fresh child
 * process (the way the embedded engine runs one model per process) and reads its RSS.
 * Memory-mapped weights count in RSS once touched, and llama.cpp touches them all at load.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ProbeReport, ProbeRequest } from './rss-probe.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const PROBE = join(here, 'rss-probe.ts');
/** `--import tsx` resolves from the working directory: the repository root. */
const ROOT = join(here, '..', '..');

export type RssMeasurement = ProbeReport;

/** Loads `request.file` (or nothing: the baseline) in a child process and reports its RSS. */
export async function measureRss(request: ProbeRequest, opts: { timeoutMs?: number } = {}): Promise<RssMeasurement> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, JSON.stringify(request)], {
    cwd: ROOT,
    timeout: opts.timeoutMs ?? 300_000,
    maxBuffer: 1 << 20,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as RssMeasurement;
}

let baseline: Promise<number> | undefined;

/**
 * RSS of a node process that imported node-llama-cpp and called `getLlama()`, before any
 * model: what every engine process costs on top of its model's footprint. Measured once
 * per process (a child process start, ~1 s) and cached.
 */
export function runtimeBaselineBytes(): Promise<number> {
  baseline ??= measureRss({}).then((m) => m.rss);
  baseline.catch(() => {
    baseline = undefined; // a failed measurement is retried by the next caller
  });
  return baseline;
}
