import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType, GgufFileType, readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeModelCommand } from './make-model.js';
import { captureConsole } from '../../test/support/console.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-make-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('make-model', () => {
  it('writes a model of the requested size', async () => {
    const io = captureConsole();
    const path = join(dir, 'sized.gguf');
    expect(await makeModelCommand(['--out', path, '--size', '6MB', '--type', 'q8_0', '--seed', '4'])).toBe(0);
    const { size } = await stat(path);
    expect(Math.abs(size - 6e6) / 6e6).toBeLessThan(0.02);
    expect(io.out()).toMatch(/wrote .*sized\.gguf: \d+ bytes, chat model, q8_0/);
  });

  it('writes a Q4_0 model with --type q4_0, by size or by dimensions', async () => {
    const io = captureConsole();
    const sized = join(dir, 'sized-q4_0.gguf');
    expect(await makeModelCommand(['--out', sized, '--size', '6MB', '--type', 'q4_0'])).toBe(0);
    expect(Math.abs((await stat(sized)).size - 6e6) / 6e6).toBeLessThan(0.02);
    expect(io.out()).toMatch(/wrote .*sized-q4_0\.gguf: \d+ bytes, chat model, q4_0/);
    const { metadata, fullTensorInfo } = await readGgufFileInfo(sized);
    expect(metadata.general.file_type).toBe(GgufFileType.MOSTLY_Q4_0);
    expect(fullTensorInfo!.find((t) => t.name === 'blk.0.ffn_up.weight')?.ggmlType).toBe(GgmlType.Q4_0);

    const dims = join(dir, 'dims-q4_0.gguf');
    expect(await makeModelCommand(['--out', dims, '--layers', '2', '--type', 'Q4_0', '--embedding'])).toBe(0);
    const embed = await readGgufFileInfo(dims);
    expect(embed.metadata.general.file_type).toBe(GgufFileType.MOSTLY_Q4_0);
    expect(embed.metadata.llama).toMatchObject({ block_count: 2, pooling_type: 1 });
  });

  it('takes explicit dimensions over the defaults, and --embedding', async () => {
    captureConsole();
    const path = join(dir, 'dims.gguf');
    const args = ['--out', path, '--layers', '3', '--embd', '128', '--ff', '256', '--heads', '4', '--kv-heads', '2', '--vocab', '600', '--ctx', '1024', '--embedding', '--type', 'F32'];
    expect(await makeModelCommand(args)).toBe(0);
    const { metadata } = await readGgufFileInfo(path);
    expect(metadata.llama).toMatchObject({ block_count: 3, embedding_length: 128, feed_forward_length: 256, context_length: 1024, pooling_type: 1 });
    expect(metadata.llama?.attention).toMatchObject({ head_count: 4, head_count_kv: 2 });
    expect(metadata.general.file_type).toBe(0);
  });

  const bad: Array<[args: string[], message: RegExp]> = [
    [['--size', '5MB'], /--out FILE is required/],
    [['--out', 'x', '--size', 'lots'], /--size must be a size/],
    [['--out', 'x', '--size', '5MB', '--layers', '2'], /cannot be combined with --layers/],
    [['--out', 'x', '--type', 'q4_k'], /--type must be one of f32, f16, q8_0, q4_0, got "q4_k"/],
    [['--out', 'x', '--layers', 'two'], /--layers must be a non-negative integer/],
    [['--out', 'x', '--embd', '100'], /--embd: .*multiple of 32/],
    [['--out', 'x', '--kv-heads', '3'], /--kv-heads: .*divisible/],
    [['--out', 'x', '--size', '10KB'], /cannot make/],
    [['--out', 'x', '--bogus'], /bogus/],
    [['--out', 'x', 'extra'], /unexpected argument "extra"/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ')} with exit code 2`, async () => {
      const io = captureConsole();
      expect(await makeModelCommand(args)).toBe(2);
      expect(io.err()).toMatch(message);
      expect(io.err()).toMatch(/usage: warmgate make-model/);
    });
  }

  it('reports a failed write with exit code 1', async () => {
    const io = captureConsole();
    expect(await makeModelCommand(['--out', join(dir, 'no', 'such', 'dir.gguf')])).toBe(1);
    expect(io.err()).toMatch(/cannot write/);
  });

  it('prints usage for --help', async () => {
    const io = captureConsole();
    expect(await makeModelCommand(['--help'])).toBe(0);
    expect(io.out()).toMatch(/usage: warmgate make-model/);
  });
});
