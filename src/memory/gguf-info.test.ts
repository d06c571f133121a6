import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_TEMPLATE, defaultChatSpec, defaultEmbeddingSpec, modelFileSize, writeModel } from '../gguf/index.js';
import { quantizationLabel, readModelInfo } from './gguf-info.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-info-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readModelInfo', () => {
  it('describes a chat model', async () => {
    const spec = { ...defaultChatSpec(), tensorType: 'q8_0' as const };
    const file = join(dir, 'chat.gguf');
    await writeModel(file, spec);
    const info = await readModelInfo(file);
    expect(info).toMatchObject({
      architecture: 'llama',
      family: 'llama',
      name: 'warmgate-synthetic-chat',
      contextLength: spec.ctx,
      embeddingLength: spec.embd,
      blockCount: spec.layers,
      fileType: 7,
      quantization: 'Q8_0',
      sizeBytes: modelFileSize(spec),
      isEmbedding: false,
      chatTemplate: CHAT_TEMPLATE,
    });
    const kvWidth = (spec.embd / spec.heads) * spec.kvHeads;
    const perLayer = spec.embd * (2 * spec.embd + 2 * kvWidth + 3 * spec.ff) + 2 * spec.embd;
    expect(info.parameterCount).toBe(spec.layers * perLayer + 2 * spec.vocab * spec.embd + spec.embd);
  });

  it('recognises an embedding model by its pooling type, and by name', async () => {
    const file = join(dir, 'embed.gguf');
    await writeModel(file, defaultEmbeddingSpec());
    expect(await readModelInfo(file)).toMatchObject({ isEmbedding: true, quantization: 'F16' });

    const named = join(dir, 'named.gguf');
    await writeModel(named, { ...defaultChatSpec(), name: 'nomic-embed-text-like', tensorType: 'f32' });
    expect(await readModelInfo(named)).toMatchObject({ isEmbedding: true, quantization: 'F32' });
  });

  it('rejects a file that is not GGUF', async () => {
    await expect(readModelInfo(join(dir, 'missing.gguf'))).rejects.toThrow();
  });
});

describe('quantizationLabel', () => {
  it('names file types the usual way, falling back to the dominant tensor type', () => {
    expect(quantizationLabel(15)).toBe('Q4_K_M');
    expect(quantizationLabel(0)).toBe('F32');
    expect(quantizationLabel(undefined, GgmlType.Q8_0)).toBe('Q8_0');
    expect(quantizationLabel(undefined)).toBe('unknown');
  });
});
