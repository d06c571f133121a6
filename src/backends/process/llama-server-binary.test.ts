import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCpuInfo, readCpuIdentity } from '../../memory/cpu-identity.js';
import { EPYC_ZEN4, SAPPHIRE_RAPIDS } from '../../../test/fixtures/cpuinfo.js';
import type { Flavour } from './llama-build-flavour.js';
import { buildSlot, cachedLlamaServer, defaultLlamaServerBinary, llamaServerManifest, llamaTree, readManifest, writeManifest } from './llama-server-binary.js';

const TAG = 'v-test';
let root: string;
let saved: string | undefined;

beforeEach(() => {
  saved = process.env.WARMGATE_CACHE_DIR;
  root = mkdtempSync(join(tmpdir(), 'warmgate-cache-'));
  process.env.WARMGATE_CACHE_DIR = root;
});

afterEach(() => {
  if (saved === undefined) delete process.env.WARMGATE_CACHE_DIR;
  else process.env.WARMGATE_CACHE_DIR = saved;
  rmSync(root, { recursive: true, force: true });
});

/** A slot as setup leaves it: the manifest, and the binary only when the check passed. */
function install(flavour: Flavour, ok: boolean, cpu = readCpuIdentity()): string {
  const slot = buildSlot(TAG, flavour, cpu);
  writeManifest(slot, {
    tag: TAG, flavour, key: slot.key, cmakeFlags: slot.flags, cpu, buildSeconds: 1, builtAt: new Date().toISOString(),
    check: { ok, at: new Date().toISOString(), seconds: 0.2, embeddingOk: ok, ...(ok ? { decodeTokensPerSecond: 100 } : { error: 'chat model: llama-server was killed by SIGILL' }) },
  });
  if (ok) writeFileSync(slot.binary, '');
  return slot.binary;
}

describe('the cache layout', () => {
  it('keeps the clone and the build dir per tag, each build in <flavour>-<key>', () => {
    expect(llamaTree(TAG)).toEqual({ src: join(root, 'llama-server', TAG, 'src'), build: join(root, 'llama-server', TAG, 'build') });
    const slot = buildSlot(TAG, 'portable', readCpuIdentity());
    expect(slot.binary).toBe(join(root, 'llama-server', TAG, `portable-${slot.key}`, 'llama-server'));
    expect(slot.manifest).toBe(join(slot.dir, 'build.json'));
  });

  it('round-trips a manifest', () => {
    install('native', true);
    const slot = buildSlot(TAG, 'native', readCpuIdentity());
    expect(readManifest(slot)?.check.decodeTokensPerSecond).toBe(100);
    expect(existsSync(`${slot.manifest}.partial`)).toBe(false);
  });
});

describe('cachedLlamaServer', () => {
  it('prefers the checked native build', () => {
    install('portable', true);
    const native = install('native', true);
    expect(cachedLlamaServer(TAG)).toBe(native);
    expect(llamaServerManifest(TAG)?.flavour).toBe('native');
  });

  it('takes the portable build when native failed its check', () => {
    install('native', false);
    const portable = install('portable', true);
    expect(cachedLlamaServer(TAG)).toBe(portable);
    expect(llamaServerManifest(TAG)).toMatchObject({ flavour: 'portable', binary: portable, check: { ok: true } });
  });

  it('ignores builds for another CPU', () => {
    const mine = readCpuIdentity();
    const other = [parseCpuInfo(SAPPHIRE_RAPIDS, mine.arch), parseCpuInfo(EPYC_ZEN4, mine.arch)].find((c) => c.flags.join() !== mine.flags.join())!;
    install('native', true, other);
    expect(llamaServerManifest(TAG)).toBeUndefined();
  });

  it('without a checked build: the missing native path, and the default command falls back to PATH', () => {
    install('native', false);
    const bin = cachedLlamaServer(TAG);
    expect(bin).toBe(buildSlot(TAG, 'native', readCpuIdentity()).binary);
    expect(existsSync(bin)).toBe(false);
    expect(defaultLlamaServerBinary()).toBe('llama-server');
  });
});
