import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { readCpuIdentity, type CpuIdentity } from '../memory/cpu-identity.js';
import { FLAVOURS, isFlavour, type Flavour } from '../backends/process/llama-build-flavour.js';
import { buildSlot, llamaSource, llamaTree, readManifest, writeManifest, type BuildManifest, type BuildSlot } from '../backends/process/llama-server-binary.js';
import { checkLlamaServer, type CheckResult } from '../backends/process/llama-server-check.js';
import { buildLlamaServer, missingTools } from './llama-server-build.js';

/**
 * `npm run setup:llama-server [--flavour native|portable] [--force]`: makes sure this machine
 * has a llama-server that really works on its CPU. It builds llama.cpp from the source the
 * node-llama-cpp package ships (no download), native first; every binary it builds or finds
 * in the cache must pass the check (a real completion and embedding); when native fails, the
 * same build dir is re-configured portable (no -march=native, no AMX) and checked again.
 * A second run finds the checked binary, checks it again (a few seconds) and builds nothing.
 */

const USAGE = 'usage: warmgate setup-llama-server [--flavour native|portable] [--force]';

interface SetupArgs {
  /** Only this flavour, also when its last check failed. */
  flavour?: Flavour;
  /** Rebuild every object even when a checked binary is cached. */
  force: boolean;
}

export async function setupLlamaServerCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n${USAGE}\n`);
    return 2;
  }
  const { bundle, tag } = llamaSource();
  const cpu = readCpuIdentity();
  const failures: string[] = [];
  for (const flavour of args.flavour ? [args.flavour] : FLAVOURS) {
    const slot = buildSlot(tag, flavour, cpu);
    if (failures.length > 0) process.stdout.write(`falling back to the ${flavour} build (${failures.at(-1)})\n`);
    const failure = await ensureFlavour(slot, bundle, args);
    if (failure === undefined) {
      process.stdout.write(`llama-server ${tag} (${flavour}) is ready: ${slot.binary}\n`);
      return 0;
    }
    failures.push(`${flavour}: ${failure}`);
  }
  process.stderr.write(
    `llama-server does not work on this machine (${describeCpu(cpu)}):\n${failures.map((f) => `  - ${f}`).join('\n')}\n` +
      'Fix: where a build failed, install the tools (apt-get install -y cmake g++ git) and run ' +
      '`npm run setup:llama-server -- --force`; where a check failed, set `backends.<name>.command` to a ' +
      'llama-server of your own (a llama.cpp release build), or use the `embedded` backend, which needs none.\n',
  );
  return 1;
}

/** Undefined when the flavour's binary is in place and passed its check; else why not. */
async function ensureFlavour(slot: BuildSlot, bundle: string, args: SetupArgs): Promise<string | undefined> {
  const previous = readManifest(slot);
  if (!args.force && previous && existsSync(slot.binary)) {
    process.stdout.write(`checking the cached ${slot.flavour} llama-server: ${slot.binary}\n`);
    const check = await checked(slot.binary);
    record(slot, { ...previous, check });
    return check.ok ? undefined : `the cached binary failed its check: ${check.error}`;
  }
  // A native build that failed here will fail again: go straight to the fallback.
  if (!args.force && !args.flavour && previous && !previous.check.ok) {
    process.stdout.write(`skipping the ${slot.flavour} build: it failed its check on ${previous.check.at} (retry with --flavour ${slot.flavour})\n`);
    return `failed its check on ${previous.check.at}: ${previous.check.error}`;
  }
  const missing = missingTools();
  if (missing.length > 0) {
    return `cannot build: missing ${missing.map((t) => t.command).join(', ')}. Install with: apt-get install -y ${missing.map((t) => t.debian).join(' ')}`;
  }
  const tree = llamaTree(slot.tag);
  process.stdout.write(`building llama-server ${slot.tag} (${slot.flavour}: ${slot.flags.join(' ')}) from ${bundle} in ${tree.build}\n`);
  let built: { binary: string; seconds: number };
  try {
    built = buildLlamaServer({ bundle, ...tree, flags: slot.flags, cpu: slot.cpu, clean: args.force });
  } catch (err) {
    return `the build failed: ${(err as Error).message.split('\n')[0]}`;
  }
  process.stdout.write(`built in ${built.seconds} s; checking ${built.binary}\n`);
  const check = await checked(built.binary);
  record(slot, {
    tag: slot.tag, flavour: slot.flavour, key: slot.key, cmakeFlags: slot.flags, cpu: slot.cpu,
    buildSeconds: built.seconds, builtAt: new Date().toISOString(), check,
  }, built.binary);
  return check.ok ? undefined : `it was built but failed its check: ${check.error}`;
}

async function checked(binary: string): Promise<CheckResult> {
  const check = await checkLlamaServer(binary);
  if (check.ok) process.stdout.write(`check passed in ${check.seconds} s: decode ${check.decodeTokensPerSecond} tokens/s, embedding ok\n`);
  else process.stderr.write(`check failed after ${check.seconds} s: ${check.error}\n`);
  return check;
}

/**
 * Keeps the invariant readers rely on: a slot holds a binary only while its last check
 * passed. The manifest goes first, so a binary is never there without one.
 */
function record(slot: BuildSlot, manifest: BuildManifest, install?: string): void {
  if (!manifest.check.ok) rmSync(slot.binary, { force: true });
  writeManifest(slot, manifest);
  if (!manifest.check.ok || install === undefined) return;
  mkdirSync(slot.dir, { recursive: true });
  // Copy beside, then rename: a concurrent reader never sees half a binary.
  copyFileSync(install, `${slot.binary}.partial`);
  chmodSync(`${slot.binary}.partial`, 0o755);
  renameSync(`${slot.binary}.partial`, slot.binary);
}

function parseArgs(argv: string[]): SetupArgs | string {
  const out: SetupArgs = { force: false };
  for (let i = 0; i < argv.length; i++) {
    const [arg, inline] = argv[i].split(/=(.*)/s);
    if (arg === '--force' && inline === undefined) out.force = true;
    else if (arg === '--flavour') {
      const value = inline ?? argv[++i] ?? '';
      if (!isFlavour(value)) return `--flavour expects ${FLAVOURS.join(' or ')}, got "${value}"`;
      out.flavour = value;
    } else return `unknown argument "${argv[i]}"`;
  }
  return out;
}

function describeCpu(cpu: CpuIdentity): string {
  return `${cpu.arch}${cpu.model ? `, ${cpu.model}` : ''}`;
}
