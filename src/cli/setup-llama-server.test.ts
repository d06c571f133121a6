import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readCpuIdentity } from '../memory/cpu-identity.js';
import { buildSlot, cachedLlamaServer, llamaServerManifest, llamaSource, readManifest } from '../backends/process/llama-server-binary.js';
import { setupLlamaServerCommand } from './setup-llama-server.js';

/**
 * The setup command's decisions, without compiling: `cmake`, `git` and `c++` are stand-ins on
 * PATH. The stand-in build makes a llama-server that dies with SIGILL when configured native
 * (the AMX VM) and otherwise runs the real cached binary (`npm test` builds it first, pretest),
 * so the check in between is the real one.
 */

const real = cachedLlamaServer();
let dir: string;
let saved: { path?: string; cache?: string };
let out: string;

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

const RUN_REAL = `exec "${real}" "$@"`;
const SIGILL = 'echo "load_tensors: CPU_REPACK model buffer" >&2; kill -s ILL $$';

/** Stand-ins; the built llama-server is the script `native` or `portable` by the configured flags. */
function fakeTools(servers: { native: string; portable: string }): void {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  script(join(dir, 'native-server'), servers.native);
  script(join(dir, 'portable-server'), servers.portable);
  // `cmake -S SRC -B BUILD flags...` records the flags; `cmake --build BUILD ...` "compiles".
  script(join(bin, 'cmake'), [
    'if [ "$1" = "--build" ]; then',
    '  echo build >> "$2/log"; mkdir -p "$2/bin"',
    '  if grep -q -- -DGGML_NATIVE=ON "$2/flags"; then flavour=native; else flavour=portable; fi',
    `  cp "${dir}/$flavour-server" "$2/bin/llama-server"; exit 0`,
    'fi',
    'b="$4"; mkdir -p "$b"; shift 4; echo "$@" > "$b/flags"; echo configure >> "$b/log"',
  ].join('\n'));
  script(join(bin, 'git'), 'if [ "$1" = clone ]; then for last; do :; done; mkdir -p "$last/.git"; exit 0; fi\n[ "$1" = "-C" ] && [ -d "$2/.git" ]');
  script(join(bin, 'c++'), 'exit 0');
  process.env.PATH = `${bin}:${saved.path}`;
}

async function setup(...argv: string[]): Promise<number> {
  out = '';
  const capture = (chunk: string | Uint8Array) => ((out += String(chunk)), true);
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    return await setupLlamaServerCommand(argv);
  } finally {
    vi.restoreAllMocks();
  }
}

const buildLog = () => readFileSync(join(dir, 'cache', 'llama-server', llamaSource().tag, 'build', 'log'), 'utf8').trim().split('\n');

beforeEach(() => {
  if (!existsSync(real)) throw new Error(`llama-server is not built (no ${real}): run \`npm run setup:llama-server\``);
  saved = { path: process.env.PATH, cache: process.env.WARMGATE_CACHE_DIR };
  dir = mkdtempSync(join(tmpdir(), 'warmgate-setup-'));
  process.env.WARMGATE_CACHE_DIR = join(dir, 'cache');
});

afterEach(() => {
  process.env.PATH = saved.path;
  if (saved.cache === undefined) delete process.env.WARMGATE_CACHE_DIR;
  else process.env.WARMGATE_CACHE_DIR = saved.cache;
  rmSync(dir, { recursive: true, force: true });
});

describe('setup-llama-server', () => {
  it('builds native, checks it, and a second run only checks the cached binary', async () => {
    fakeTools({ native: RUN_REAL, portable: RUN_REAL });
    expect(await setup()).toBe(0);
    const m = llamaServerManifest();
    expect(m).toMatchObject({ flavour: 'native', check: { ok: true, embeddingOk: true }, cpu: { flags: readCpuIdentity().flags } });
    expect(m?.check.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(await setup()).toBe(0);
    expect(out).toContain('checking the cached native llama-server');
    expect(buildLog()).toEqual(['configure', 'build']);
  });

  it('falls back to portable in the same build dir when native dies with SIGILL, and skips native next time', async () => {
    fakeTools({ native: SIGILL, portable: RUN_REAL });
    expect(await setup()).toBe(0);
    expect(out).toMatch(/check failed .*killed by SIGILL.*CPU_REPACK/);
    expect(out).toMatch(/falling back to the portable build \(native: it was built but failed its check: chat model: llama-server was killed by SIGILL/);
    expect(buildLog()).toEqual(['configure', 'build', 'configure', 'build']);
    const cpu = readCpuIdentity();
    expect(readManifest(buildSlot(llamaSource().tag, 'native', cpu))?.check).toMatchObject({ ok: false, embeddingOk: false });
    expect(existsSync(buildSlot(llamaSource().tag, 'native', cpu).binary)).toBe(false);
    expect(llamaServerManifest()?.flavour).toBe('portable');
    expect(cachedLlamaServer()).toBe(buildSlot(llamaSource().tag, 'portable', cpu).binary);

    expect(await setup()).toBe(0);
    expect(out).toContain('skipping the native build: it failed its check');
    expect(buildLog()).toHaveLength(4);
  });

  it('exits 1 naming both failures and the fix when no flavour works', async () => {
    fakeTools({ native: SIGILL, portable: 'echo "error: something else" >&2; exit 7' });
    expect(await setup()).toBe(1);
    expect(out).toMatch(/- native: it was built but failed its check: .*SIGILL/);
    expect(out).toMatch(/- portable: it was built but failed its check: .*exited with code 7/);
    expect(out).toContain('apt-get install -y cmake g++ git');
    expect(out).toContain('backends.<name>.command');
  });

  it('rejects an unknown flavour with exit code 2', async () => {
    expect(await setup('--flavour', 'fast')).toBe(2);
    expect(out).toContain('--flavour expects native or portable, got "fast"');
  });
});
