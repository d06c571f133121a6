/**
 * The synthetic models work in node-llama-cpp (llama.cpp): they load, generate, chat and embed
 * with finite numbers, and size-targeted files of 20 MB to 1 GB load memory-mapped.
 * Contexts use one thread: ggml's worker threads spin-wait for each other, and on a shared
 * 2-core machine a descheduled worker stalls the rest (tokens took seconds instead of ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaChatSession, LlamaCompletion, LlamaLogLevel, readGgufFileInfo, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultChatSpec, defaultEmbeddingSpec, specForSize, writeModel, type TensorType } from './index.js';

let dir: string;
let llama: Llama;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-gguf-'));
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('chat model', () => {
  it('tokenizes text into word pieces and generates with finite probabilities', async () => {
    const path = join(dir, 'chat.gguf');
    await writeModel(path, defaultChatSpec());
    const model = await llama.loadModel({ modelPath: path });
    try {
      const words = model.tokenize('hello the world').map((t) => model.detokenize([t]).trim());
      expect(words).toEqual(['hello', 'the', 'world']);
      expect(model.tokenize('\u00e9')).toHaveLength(3); // ▁, then é is not in the vocabulary: two byte tokens

      const context = await model.createContext({ contextSize: 512, threads: 1 });
      const sequence = context.getSequence();
      const tokens = model.tokenize('the answer is', false, 'trimLeadingSpace');
      const first = await sequence.evaluateWithMetadata(tokens, { probabilities: true }).next();
      const probabilities = [...(first.value ? first.value.probabilities.values() : [])];
      expect(probabilities.length).toBeGreaterThan(0);
      expect(probabilities.every(Number.isFinite)).toBe(true);
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
      await sequence.clearHistory();

      const completion = new LlamaCompletion({ contextSequence: sequence });
      const text = await completion.generateCompletion('hello world', { maxTokens: 8 });
      expect(typeof text).toBe('string');
      await context.dispose();
    } finally {
      await model.dispose();
    }
  });

  it('chats through its ChatML template', async () => {
    const path = join(dir, 'chat-session.gguf');
    await writeModel(path, { ...defaultChatSpec(), tensorType: 'q8_0', seed: 3 });
    const model = await llama.loadModel({ modelPath: path });
    try {
      const context = await model.createContext({ contextSize: 512, threads: 1 });
      const session = new LlamaChatSession({ contextSequence: context.getSequence() });
      expect(session.chatWrapper.wrapperName).toMatch(/ChatML/);
      const reply = await session.prompt('hello, what is your name?', { maxTokens: 8 });
      expect(typeof reply).toBe('string');
      await context.dispose();
    } finally {
      await model.dispose();
    }
  });
});

describe('embedding model', () => {
  it('gives a finite vector as wide as the model', async () => {
    const spec = defaultEmbeddingSpec();
    const path = join(dir, 'embed.gguf');
    await writeModel(path, spec);
    const model = await llama.loadModel({ modelPath: path });
    try {
      const context = await model.createEmbeddingContext({ contextSize: 512, threads: 1 });
      const a = await context.getEmbeddingFor('the quick brown fox');
      const b = await context.getEmbeddingFor('hello world');
      expect(a.vector).toHaveLength(spec.embd);
      expect(a.vector.every(Number.isFinite)).toBe(true);
      expect(a.vector.some((v) => v !== 0)).toBe(true);
      expect(a.vector).not.toEqual(b.vector);
      await context.dispose();
    } finally {
      await model.dispose();
    }
  });
});

describe('size-targeted files', () => {
  const cases: Array<[bytes: number, type: TensorType]> = [
    [20e6, 'f16'],
    [300e6, 'q8_0'],
    [1e9, 'f16'],
  ];
  for (const [target, tensorType] of cases) {
    it(`${target / 1e6} MB ${tensorType}: within 2% and loads memory-mapped`, async () => {
      const path = join(dir, `sized-${target}.gguf`);
      try {
        const spec = specForSize(target, { tensorType, ctx: 2048 });
        const { bytes } = await writeModel(path, spec);
        expect(Math.abs(bytes - target) / target).toBeLessThan(0.02);
        const info = await readGgufFileInfo(path);
        expect(info.metadata.llama?.block_count).toBe(spec.layers);
        const model = await llama.loadModel({ modelPath: path, useMmap: true });
        expect(model.fileInsights.totalLayers).toBe(spec.layers + 1); // + the output layer
        expect(model.size).toBeGreaterThan(0);
        await model.dispose();
      } finally {
        await rm(path, { force: true });
      }
    });
  }
});
