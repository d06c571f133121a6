import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { CpuIdentity } from '../memory/cpu-identity.js';

/**
 * Builds llama-server from the bundle in the kept tree `llama-server/<tag>/{src,build}`:
 * clone once, configure the build dir with a flavour's flags, build the one target.
 *
 * The build dir is kept, never deleted, also after a binary passed its check: an interrupted
 * build resumes; a flavour switch recompiles only ggml-cpu (the one target whose flags
 * differ); a CPU change (a VM moved to another host type, a kernel reporting other flags)
 * makes the cache key miss and costs a relink or a ggml-cpu rebuild instead of the full
 * build. That is worth its ~90 MB.
 */

const TOOLS: Array<{ command: string; debian: string }> = [
  { command: 'cmake', debian: 'cmake' },
  { command: 'c++', debian: 'g++' },
  { command: 'git', debian: 'git' },
];

/** The build tools not on PATH, with their Debian package names. */
export function missingTools(): Array<{ command: string; debian: string }> {
  return TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t.command}`]).status !== 0);
}

export interface BuildRequest {
  bundle: string;
  src: string;
  build: string;
  flags: string[];
  cpu: CpuIdentity;
  /** Rebuild every object (`--force`), not only what changed. */
  clean: boolean;
}

/** Builds and returns the built binary and the seconds it took; throws on any failed step. */
export function buildLlamaServer(req: BuildRequest): { binary: string; seconds: number } {
  const started = performance.now();
  ensureClone(req.bundle, req.src);
  forgetOtherCpu(req.build, req.cpu);
  const jobs = String(Math.max(1, cpus().length));
  run('cmake', ['-S', req.src, '-B', req.build, ...req.flags]);
  run('cmake', ['--build', req.build, '--target', 'llama-server', '--config', 'Release', '-j', jobs, ...(req.clean ? ['--clean-first'] : [])]);
  writeFileSync(stampPath(req.build), `${JSON.stringify(cpuStamp(req.cpu))}\n`);
  const binary = join(req.build, 'bin', 'llama-server');
  if (!existsSync(binary)) throw new Error(`the build finished but ${binary} is missing`);
  return { binary, seconds: Math.round(performance.now() - started) / 1000 };
}

/** Clones the bundle unless a complete clone is there (a clone cut short is redone). */
function ensureClone(bundle: string, src: string): void {
  if (spawnSync('git', ['-C', src, 'rev-parse', '--verify', '--quiet', 'HEAD'], { stdio: 'ignore' }).status === 0) return;
  rmSync(src, { recursive: true, force: true });
  run('git', ['clone', '--quiet', bundle, src]);
}

/**
 * `-march=native` means "the CPU the objects were compiled on", and make cannot see that
 * change: when the build dir's objects came from another CPU, ggml-cpu's are deleted so they
 * are compiled again here. A build dir without the stamp (older setups) is taken as this CPU's.
 */
function forgetOtherCpu(build: string, cpu: CpuIdentity): void {
  let stamp: string;
  try {
    stamp = readFileSync(stampPath(build), 'utf8').trim();
  } catch {
    return;
  }
  if (stamp === JSON.stringify(cpuStamp(cpu))) return;
  const objects = join(build, 'ggml', 'src', 'CMakeFiles', 'ggml-cpu.dir');
  if (!existsSync(objects)) return;
  process.stdout.write('the build dir was compiled on another CPU: recompiling ggml-cpu\n');
  for (const entry of readdirSync(objects, { recursive: true, encoding: 'utf8' })) {
    if (entry.endsWith('.o')) rmSync(join(objects, entry), { force: true });
  }
}

function stampPath(build: string): string {
  return join(build, 'warmgate-cpu.json');
}

function cpuStamp(cpu: CpuIdentity): { arch: string; flags: string[] } {
  return { arch: cpu.arch, flags: cpu.flags };
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
}
