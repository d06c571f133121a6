import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GgufInsights } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultChatSpec, defaultEmbeddingSpec, modelFileSize, writeModel } from '../gguf/index.js';
import { estimateFootprint, fitGpuLayers, loadInsights } from './estimate.js';

let dir: string;
let chat: GgufInsights;
let chatFile: string;
let embedFile: string;
const spec = defaultChatSpec(); // 4 blocks, embd 256, 4 heads, 2 KV heads: 128 KV values per token and layer

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-estimate-'));
  chatFile = join(dir, 'chat.gguf');
  embedFile = join(dir, 'embed.gguf');
  await writeModel(chatFile, spec);
  await writeModel(embedFile, defaultEmbeddingSpec());
  chat = await loadInsights(chatFile);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('estimateFootprint', () => {
  it('sizes the KV cache as layers × cells × (K + V) × f16, per sequence', async () => {
    const f = await estimateFootprint(chatFile, { ctx: 1024, parallel: 2 });
    const kvPerCell = spec.layers * 2 * (spec.embd / spec.heads) * spec.kvHeads * 2;
    expect(f.kvCacheBytes).toBe(kvPerCell * 1024 * 2);
    const quadrupled = await estimateFootprint(chat, { ctx: 2048, parallel: 4 });
    expect(quadrupled.kvCacheBytes).toBe(f.kvCacheBytes * 4);
  });

  it('counts the weights as the tensor data of the file', async () => {
    const f = await estimateFootprint(chat, { ctx: 512 });
    expect(f.weightsBytes).toBeLessThan(modelFileSize(spec));
    expect(f.weightsBytes).toBeGreaterThan(modelFileSize(spec) * 0.9);
  });

  it('puts everything in RAM by default and splits it by offloaded layers', async () => {
    const cpu = await estimateFootprint(chat, { ctx: 2048 });
    expect(cpu.layers).toBe(spec.layers + 1);
    expect(cpu.gpu).toEqual({ bytes: 0, layers: 0 });
    expect(cpu.ram.bytes).toBe(cpu.totalBytes);
    expect(cpu.totalBytes).toBe(cpu.weightsBytes + cpu.kvCacheBytes + cpu.computeBytes);
    expect(cpu.computeBytes).toBeGreaterThan(0);

    let previous = cpu;
    for (let gpuLayers = 1; gpuLayers <= cpu.layers; gpuLayers++) {
      const f = await estimateFootprint(chat, { ctx: 2048, gpuLayers });
      expect(f.gpu.layers).toBe(gpuLayers);
      expect(f.gpu.bytes).toBeGreaterThan(previous.gpu.bytes);
      expect(f.ram.bytes).toBeLessThan(previous.ram.bytes);
      expect(f.weightsBytes).toBe(cpu.weightsBytes);
      expect(f.kvCacheBytes).toBe(cpu.kvCacheBytes);
      expect(Math.abs(f.gpu.bytes + f.ram.bytes - f.totalBytes)).toBeLessThanOrEqual(1);
      previous = f;
    }
    const full = previous;
    expect(full.perLayer).toBeGreaterThan(0);
    expect(full.perLayer).toBeLessThan(full.gpu.bytes / 2);
    expect(await estimateFootprint(chat, { ctx: 2048, gpuLayers: 99 })).toEqual(full); // clamped
  });

  it('drops the logits buffer for embedding contexts, inferred from the file', async () => {
    const embed = await loadInsights(embedFile);
    const inferred = await estimateFootprint(embed, { ctx: 512 });
    expect(inferred).toEqual(await estimateFootprint(embed, { ctx: 512, embedding: true }));
    const asChat = await estimateFootprint(embed, { ctx: 512, embedding: false });
    expect(asChat.computeBytes).toBeGreaterThan(inferred.computeBytes);
  });
});

describe('fitGpuLayers', () => {
  it('finds the most layers whose GPU share fits', async () => {
    const opts = { ctx: 2048, parallel: 2 };
    const layers = chat.totalLayers;
    for (let k = 1; k < layers; k++) {
      const atK = await estimateFootprint(chat, { ...opts, gpuLayers: k });
      const atNext = await estimateFootprint(chat, { ...opts, gpuLayers: k + 1 });
      expect(await fitGpuLayers(chat, atK.gpu.bytes, opts)).toBe(k);
      expect(await fitGpuLayers(chat, (atK.gpu.bytes + atNext.gpu.bytes) / 2, opts)).toBe(k);
    }
  });

  it('answers 0 when nothing fits and every layer when all do', async () => {
    expect(await fitGpuLayers(chatFile, 1000, { ctx: 2048 })).toBe(0);
    expect(await fitGpuLayers(chatFile, 1e12, { ctx: 2048 })).toBe(chat.totalLayers);
  });
});
