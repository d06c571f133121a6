import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { readCpuIdentity, type CpuIdentity } from '../../memory/cpu-identity.js';
import { buildKey, flavourFlags, FLAVOURS, type Flavour } from './llama-build-flavour.js';
import type { CheckResult } from './llama-server-check.js';

/**
 * Where llama.cpp's llama-server comes from without a download: the source node-llama-cpp
 * ships (`llama/gitRelease.bundle`, tag in `llama/llama.cpp.info.json`), built once per
 * machine by `npm run setup:llama-server`. The cache, under `llama-server/<tag>/`:
 *
 * - `src/`, `build/`: the clone and the cmake build dir, shared by the flavours;
 * - `<flavour>-<key>/llama-server` + `build.json`: one build for one CPU, `key` hashing the
 *   tag, the flavour's flags and the CPU identity. The binary is there only while its last
 *   check passed (a failed one is removed, its manifest kept to say why).
 */

export interface LlamaSource {
  bundle: string;
  tag: string;
}

export function llamaSource(): LlamaSource {
  // The package does not export its package.json: walk up from its entry point instead.
  let pkg = dirname(createRequire(import.meta.url).resolve('node-llama-cpp'));
  while (!existsSync(join(pkg, 'llama', 'llama.cpp.info.json'))) {
    if (dirname(pkg) === pkg) throw new Error('cannot find the llama.cpp source inside node-llama-cpp (llama/llama.cpp.info.json)');
    pkg = dirname(pkg);
  }
  const info = JSON.parse(readFileSync(join(pkg, 'llama', 'llama.cpp.info.json'), 'utf8')) as { tag: string };
  return { bundle: join(pkg, 'llama', 'gitRelease.bundle'), tag: info.tag };
}

/** `$WARMGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/warmgate`, else `~/.cache/warmgate`. */
export function cacheRoot(): string {
  return process.env.WARMGATE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'warmgate');
}

/** The clone and the cmake build dir of one llama.cpp tag. */
export function llamaTree(tag: string): { src: string; build: string } {
  const dir = join(cacheRoot(), 'llama-server', tag);
  return { src: join(dir, 'src'), build: join(dir, 'build') };
}

/** One flavour's place in the cache for one CPU. */
export interface BuildSlot {
  tag: string;
  flavour: Flavour;
  flags: string[];
  cpu: CpuIdentity;
  key: string;
  dir: string;
  binary: string;
  manifest: string;
}

export function buildSlot(tag: string, flavour: Flavour, cpu: CpuIdentity): BuildSlot {
  const flags = flavourFlags(flavour, cpu);
  const key = buildKey(tag, flavour, flags, cpu);
  const dir = join(cacheRoot(), 'llama-server', tag, `${flavour}-${key}`);
  return { tag, flavour, flags, cpu, key, dir, binary: join(dir, 'llama-server'), manifest: join(dir, 'build.json') };
}

/** `build.json`: what was built, for which CPU, and how its last check went. */
export interface BuildManifest {
  tag: string;
  flavour: Flavour;
  key: string;
  cmakeFlags: string[];
  cpu: CpuIdentity;
  /** Configure + build time of the run that built it (incremental in the kept build dir). */
  buildSeconds: number;
  builtAt: string;
  check: CheckResult;
}

export function readManifest(slot: BuildSlot): BuildManifest | undefined {
  try {
    return JSON.parse(readFileSync(slot.manifest, 'utf8')) as BuildManifest;
  } catch {
    return undefined;
  }
}

/** Written beside, then renamed: a reader never sees half a manifest. */
export function writeManifest(slot: BuildSlot, manifest: BuildManifest): void {
  mkdirSync(slot.dir, { recursive: true });
  writeFileSync(`${slot.manifest}.partial`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${slot.manifest}.partial`, slot.manifest);
}

/**
 * The build this machine runs: the first flavour (native, then portable) whose binary is in
 * its slot for this CPU and whose manifest says its last check passed. For `warmgate doctor`.
 */
export function llamaServerManifest(tag = llamaSource().tag, cpu = readCpuIdentity()): (BuildManifest & { binary: string }) | undefined {
  for (const flavour of FLAVOURS) {
    const slot = buildSlot(tag, flavour, cpu);
    const manifest = readManifest(slot);
    if (manifest?.check.ok && existsSync(slot.binary)) return { ...manifest, binary: slot.binary };
  }
  return undefined;
}

/**
 * Whether the llama-server this machine runs has ggml's AMX kernels: a native build has them
 * where the CPU does, a `portable` one never. With no checked build yet, the native one it
 * would get (the larger estimate).
 */
export function llamaServerHasAmx(): boolean {
  return llamaServerManifest()?.flavour !== 'portable';
}

/**
 * The path of this machine's checked llama-server; when there is none, the path the native
 * build would have, which does not exist (callers test it and point at the setup command).
 */
export function cachedLlamaServer(tag = llamaSource().tag): string {
  const cpu = readCpuIdentity();
  return llamaServerManifest(tag, cpu)?.binary ?? buildSlot(tag, 'native', cpu).binary;
}

/** The binary the default llama-server command runs: the checked cached build, else `llama-server` on PATH. */
export function defaultLlamaServerBinary(): string {
  return llamaServerManifest()?.binary ?? 'llama-server';
}
