import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType, GgufFileType, readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_TEMPLATE, defaultChatSpec, defaultEmbeddingSpec, modelFileSize, TENSOR_TYPES, writeModel, type ModelSpecInput } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const small: ModelSpecInput = { layers: 2, embd: 64, ff: 128, heads: 2, kvHeads: 1, vocab: 512, ctx: 256 };

describe('writeModel', () => {
  it('writes exactly modelFileSize bytes for every tensor type', async () => {
    for (const tensorType of TENSOR_TYPES) {
      const path = join(dir, `size-${tensorType}.gguf`);
      const { bytes } = await writeModel(path, { ...small, tensorType });
      expect(bytes).toBe(modelFileSize({ ...small, tensorType }));
      expect((await stat(path)).size).toBe(bytes);
    }
  });

  it('writes identical bytes for the same seed and different ones for another seed', async () => {
    const spec = { ...small, tensorType: 'q8_0' as const, seed: 11 };
    await writeModel(join(dir, 'a.gguf'), spec);
    await writeModel(join(dir, 'b.gguf'), spec);
    await writeModel(join(dir, 'c.gguf'), { ...spec, seed: 12 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => sha256(join(dir, `${n}.gguf`))));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('leaves no partial file behind when it fails', async () => {
    await expect(writeModel(join(dir, 'missing-dir', 'x.gguf'), small)).rejects.toThrow();
    await expect(writeModel(join(dir, 'bad.gguf'), { ...small, embd: 65 })).rejects.toThrow(/multiple of 32/);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

describe('the written file, as node-llama-cpp reads it', () => {
  it('carries the llama metadata, vocabulary and chat template of a chat model', async () => {
    const spec = defaultChatSpec();
    const path = join(dir, 'chat.gguf');
    await writeModel(path, spec);
    const info = await readGgufFileInfo(path);
    expect(info.version).toBe(3);
    const md = info.metadata;
    expect(md.general).toMatchObject({ architecture: 'llama', name: 'warmgate-synthetic-chat', file_type: 1, alignment: 32 });
    expect(md.llama).toMatchObject({
      context_length: spec.ctx,
      embedding_length: spec.embd,
      block_count: spec.layers,
      feed_forward_length: spec.ff,
      attention: { head_count: spec.heads, head_count_kv: spec.kvHeads },
      rope: { dimension_count: spec.embd / spec.heads },
    });
    expect(md.llama).not.toHaveProperty('pooling_type');
    expect(md.tokenizer.ggml).toMatchObject({ model: 'llama', bos_token_id: 1, eos_token_id: 2, unknown_token_id: 0 });
    expect(md.tokenizer.ggml.tokens).toHaveLength(spec.vocab);
    expect(md.tokenizer.chat_template).toBe(CHAT_TEMPLATE);
    const names = info.fullTensorInfo!.map((t) => t.name);
    expect(names).toContain('output.weight');
    expect(names).toHaveLength(3 + 9 * spec.layers);
  });

  it('marks the embedding variant: mean pooling, "embed" in its name, no output head', async () => {
    const path = join(dir, 'embed.gguf');
    await writeModel(path, { ...defaultEmbeddingSpec(), tensorType: 'q8_0' });
    const info = await readGgufFileInfo(path);
    expect(info.metadata.llama).toHaveProperty('pooling_type', 1);
    expect(info.metadata.general.name).toMatch(/embed/);
    expect(info.metadata.general.file_type).toBe(7);
    expect(info.fullTensorInfo!.map((t) => t.name)).not.toContain('output.weight');
  });

  it('stores a Q4_0 model as Q4_0 matrices of 18 bytes per 32 values, F32 norms and file type MOSTLY_Q4_0', async () => {
    const spec = { ...defaultChatSpec(), tensorType: 'q4_0' as const };
    const path = join(dir, 'q4_0.gguf');
    const { bytes } = await writeModel(path, spec);
    const info = await readGgufFileInfo(path);
    expect(info.metadata.general.file_type).toBe(GgufFileType.MOSTLY_Q4_0);
    expect(GgufFileType.MOSTLY_Q4_0).toBe(2);
    const tensors = info.fullTensorInfo!;
    expect(tensors).toHaveLength(3 + 9 * spec.layers);
    // ggml sizes, written out: Q4_0 is 18 bytes per block of 32, F32 4 bytes per value.
    const ggmlBytes = (t: (typeof tensors)[number]) => {
      const elements = t.dimensions.reduce<number>((a, d) => a * Number(d), 1);
      return t.ggmlType === GgmlType.Q4_0 ? (elements / 32) * 18 : elements * 4;
    };
    for (const [i, t] of tensors.entries()) {
      expect(t.ggmlType, t.name).toBe(t.dimensions.length === 1 ? GgmlType.F32 : GgmlType.Q4_0);
      const end = i + 1 < tensors.length ? Number(tensors[i + 1].fileOffset) : bytes;
      // Each tensor runs to the next one (or the end of the file), up to the 32-byte alignment.
      expect(end - Number(t.fileOffset) - ggmlBytes(t), t.name).toBeGreaterThanOrEqual(0);
      expect(end - Number(t.fileOffset) - ggmlBytes(t), t.name).toBeLessThan(32);
    }
    const attnQ = tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
    expect(attnQ.dimensions.map(Number)).toEqual([spec.embd, spec.embd]);
    expect(ggmlBytes(attnQ)).toBe(spec.embd * spec.embd * 0.5625);
  });
});
