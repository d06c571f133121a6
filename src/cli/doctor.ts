/**
 * `warmgate doctor [--config FILE] [--ollama URL] [--json]`: what this machine gives the
 * gateway, checked for real: the CPU's features, the kernels node-llama-cpp and llama-server
 * run (and so which weights they repack), the llama-server binary's check, the memory budget
 * per pool, and whether each backend answers. Exits 1 when something needs fixing.
 */
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { existsSync } from 'node:fs';
import { checkLlamaServer, type CheckResult } from '../backends/process/llama-server-check.js';
import { OllamaDomain } from '../backends/ollama/ollama-domain.js';
import { llamaServerHasAmx, llamaServerManifest } from '../backends/process/llama-server-binary.js';
import { ConfigError, loadConfig, parseServeFlags } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { readCpuIdentity } from '../memory/cpu-identity.js';
import { runtimeKernels } from '../memory/runtime-kernels.js';
import { probeSystemMemory } from '../memory/system.js';
import { repackedTypes, type CpuKernels } from '../memory/weight-repack.js';
import { detectBudgets } from '../residency/budgets.js';
import { formatBytes } from './estimate.js';

/** The flags that decide ggml's kernels, as /proc/cpuinfo spells them. */
const NOTABLE = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx_vnni', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8', 'amx_bf16', 'asimddp', 'i8mm', 'sve'];

interface Finding {
  ok: boolean;
  what: string;
  detail: string;
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let config: Config;
  try {
    config = loadConfig(parseServeFlags(argv.filter((a) => a !== '--json')));
  } catch (err) {
    console.error(`warmgate doctor: ${(err as Error).message}`);
    return err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
  const cpu = readCpuIdentity();
  const [worker, llamaServer, memory, budgets, backends] = await Promise.all([
    workerKernels(), llamaServerStatus(), probeSystemMemory(), detectBudgets(config.memory), reachBackends(config),
  ]);
  const report = {
    cpu: { arch: cpu.arch, model: cpu.model, features: NOTABLE.filter((f) => cpu.flags.includes(f)) },
    embedded: { ...worker, kernels: runtimeKernels('embedded'), repacks: repackedTypes(runtimeKernels('embedded')) },
    llama_server: llamaServer,
    // Each Ollama daemon's own pools (Infinity, "learned": a capacity not configured; JSON shows null).
    memory: { ram_total: memory.ramTotal, ram_available: memory.ramAvailable, gpus: memory.gpus, budgets, daemons: daemonBudgets(config) },
    backends,
  };
  const findings: Finding[] = [
    { ok: worker.variant !== undefined, what: 'embedded worker (node-llama-cpp)', detail: worker.variant ? `CPU kernels ${worker.variant}` : `could not start: ${worker.error}` },
    llamaServerFinding(llamaServer),
    ...backends,
  ];
  if (json) {
    console.log(JSON.stringify({ ...report, ok: findings.every((f) => f.ok) }, null, 2));
    return findings.every((f) => f.ok) ? 0 : 1;
  }
  const out: string[] = [];
  out.push(`CPU       ${cpu.model || 'unknown'} (${cpu.arch}): ${report.cpu.features.join(' ') || 'no notable features'}`);
  out.push(`embedded  node-llama-cpp loads ${worker.variant ?? 'no CPU backend'}; ${describeRepack(report.embedded.kernels)}`);
  if (llamaServer.binary) {
    out.push(`llama-server  ${llamaServer.binary} (${llamaServer.flavour ?? 'not built by warmgate'}); ${describeRepack(runtimeKernels('llama-server', { llamaServerAmx: llamaServerHasAmx() }))}`);
  }
  out.push(`memory    RAM ${formatBytes(memory.ramTotal)}, ${formatBytes(memory.ramAvailable)} available${memory.gpus.map((g) => `; GPU ${g.name} ${formatBytes(g.vramTotal)}`).join('')}`);
  out.push(`budgets   ${Object.entries(budgets).map(([pool, bytes]) => `${pool} ${formatBytes(bytes)}`).join(', ')} (memory.ram / memory.gpu, else what is free minus memory.reserve)`);
  const daemons = Object.entries(report.memory.daemons);
  if (daemons.length > 0) {
    const pools = daemons.flatMap(([, b]) => Object.entries(b)).map(([pool, bytes]) => `${pool} ${Number.isFinite(bytes) ? formatBytes(bytes) : 'learned'}`);
    out.push(`daemons   ${pools.join(', ')} (backends.<name>.memory, else learned from what the daemon shows)`);
  }
  out.push('');
  for (const f of findings) out.push(`${f.ok ? 'ok  ' : 'FAIL'}  ${f.what}: ${f.detail}`);
  console.log(out.join('\n'));
  return findings.every((f) => f.ok) ? 0 : 1;
}

/** The CPU backend variant node-llama-cpp loads on this machine, from its own log line. */
async function workerKernels(): Promise<{ variant?: string; error?: string }> {
  let variant: string | undefined;
  try {
    const llama = await getLlama({
      gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.debug,
      logger: (_level, message) => {
        const m = /loaded CPU backend from .*libggml-cpu-?([\w.-]*)\.so/.exec(message);
        if (m) variant = m[1] || 'native';
      },
    });
    await llama.dispose();
    return { variant: variant ?? 'cpu' };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

interface LlamaServerStatus {
  binary?: string;
  flavour?: string;
  builtAt?: string;
  check?: CheckResult;
}

/** The llama-server this machine would run, checked now (a real decode and embedding). */
async function llamaServerStatus(): Promise<LlamaServerStatus> {
  const manifest = llamaServerManifest();
  if (!manifest) return {};
  if (!existsSync(manifest.binary)) return { binary: manifest.binary, flavour: manifest.flavour };
  return { binary: manifest.binary, flavour: manifest.flavour, builtAt: manifest.builtAt, check: await checkLlamaServer(manifest.binary) };
}

function llamaServerFinding(s: LlamaServerStatus): Finding {
  const what = 'llama-server';
  if (!s.binary) return { ok: true, what, detail: 'not built on this machine (only needed for llama-server backends): npm run setup:llama-server' };
  if (!s.check) return { ok: false, what, detail: `${s.binary} is missing: npm run setup:llama-server` };
  if (!s.check.ok) return { ok: false, what, detail: `${s.binary} failed its check: ${s.check.error}; rebuild with npm run setup:llama-server -- --force` };
  return { ok: true, what, detail: `check passed (${s.check.decodeTokensPerSecond ?? '?'} tokens/s decode, embedding ok, ${s.check.seconds} s)` };
}

/** Each configured backend, asked whether it answers. */
async function reachBackends(config: Config): Promise<Finding[]> {
  return Promise.all(Object.entries(config.backends).map(async ([name, b]): Promise<Finding> => {
    const what = `backend ${name} (${b.kind})`;
    const url = b.kind === 'ollama' ? new URL('/api/version', b.url)
      : b.kind === 'warmgate' ? new URL('/warmgate/health', b.url)
      : b.kind === 'llama-server' && b.url ? new URL('/health', b.url) : undefined;
    if (!url) return { ok: true, what, detail: 'runs its processes on this machine' };
    // The breaker's own probe path: what answers here is what brings the backend back after an outage.
    const breaker = 'breaker' in b && b.breaker ? `; breaker: out after ${b.breaker.failures} failures, probed after ${b.breaker.open_s}-${b.breaker.max_open_s} s` : '; no breaker';
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      return { ok: res.ok, what, detail: `${url.origin} answered ${res.status}${res.ok ? ` ${body.slice(0, 80)}` : ''}${breaker}` };
    } catch (err) {
      return { ok: false, what, detail: `${url.origin} does not answer: ${(err as Error).message}${breaker}` };
    }
  }));
}

function describeRepack(kernels: CpuKernels): string {
  const types = repackedTypes(kernels);
  const parts = Object.entries(types).filter(([, list]) => list.length > 0).map(([buffer, list]) => `${buffer} repacks ${list.join(', ')}`);
  return parts.length > 0 ? `${parts.join('; ')} (a model with such weights loads without mmap)` : 'no weights repacked';
}

/** Each Ollama backend's own memory domain: its pools and their budgets. */
function daemonBudgets(config: Config): Record<string, Readonly<Record<string, number>>> {
  return Object.fromEntries(Object.entries(config.backends).flatMap(([name, b]) => (b.kind === 'ollama' ? [[name, new OllamaDomain(name, b.memory).budgets]] : [])));
}
