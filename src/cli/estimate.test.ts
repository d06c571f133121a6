import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultChatSpec, writeModel } from '../gguf/index.js';
import { estimateCommand, formatBytes } from './estimate.js';
import { captureConsole } from '../../test/support/console.js';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-estimate-cli-'));
  file = join(dir, 'chat.gguf');
  await writeModel(file, defaultChatSpec());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('estimate', () => {
  it('prints the three offload scenarios as a table', async () => {
    const io = captureConsole();
    expect(await estimateCommand([file, '--ctx', '1024'])).toBe(0);
    const text = io.out();
    expect(text).toMatch(/warmgate-synthetic-chat, llama, F16/);
    expect(text).toMatch(/context 1024 × 1 sequence \(trained: 4096\)/);
    expect(text).toMatch(/full GPU offload\s+5\/5/);
    expect(text).toMatch(/partial \(half the layers\)\s+2\/5/);
    expect(text).toMatch(/CPU only\s+0\/5 .* 0 B/);
  });

  it('prints JSON with --json, defaulting ctx to the trained context up to 4096', async () => {
    const io = captureConsole();
    expect(await estimateCommand([file, '--json', '--parallel', '3'])).toBe(0);
    const doc = JSON.parse(io.out());
    expect(doc).toMatchObject({ ctx: 4096, parallel: 3, model: { architecture: 'llama', blockCount: 4 } });
    expect(doc.scenarios.cpu.gpu.bytes).toBe(0);
    expect(doc.scenarios.gpu_full.gpu.layers).toBe(5);
    expect(doc.scenarios.gpu_partial.kvCacheBytes).toBe(doc.scenarios.cpu.kvCacheBytes);
  });

  const bad: Array<[string[], RegExp]> = [
    [[], /a model file is required/],
    [['a.gguf', 'b.gguf'], /expected one model file, got 2/],
    [['a.gguf', '--ctx', '0'], /--ctx must be a positive integer/],
    [['a.gguf', '--parallel', 'x'], /--parallel must be a positive integer/],
    [['a.gguf', '--nope'], /nope/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${JSON.stringify(args)} with exit code 2`, async () => {
      const io = captureConsole();
      expect(await estimateCommand(args)).toBe(2);
      expect(io.err()).toMatch(message);
    });
  }

  it('exits 1 for a file that is not a model', async () => {
    const io = captureConsole();
    const junk = join(dir, 'junk.gguf');
    await writeFile(junk, 'not a gguf');
    expect(await estimateCommand([junk])).toBe(1);
    expect(io.err()).toMatch(/cannot read .*junk\.gguf/);
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});
