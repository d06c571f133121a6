/**
 * The synthetic models work in node-llama-cpp (llama.cpp): they load, generate, chat and embed
 * with finite numbers, and size-targeted files of 20 MB to 1 GB load memory-mapped.
 * Contexts use one thread: ggml's worker threads spin-wait for each other, and on a shared
 * 2-core machine a descheduled worker stalls the rest (tokens took seconds instead of ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaChatSession, LlamaCompletion, LlamaLogLevel, readGgufFileInfo, type Llama, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp';
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

/** The first token after a prompt has finite probabilities that sum to 1; the sequence is cleared after. */
async function expectNextTokenDistribution(model: LlamaModel, sequence: LlamaContextSequence): Promise<void> {
  const tokens = model.tokenize('the answer is', false, 'trimLeadingSpace');
  const first = await sequence.evaluateWithMetadata(tokens, { probabilities: true }).next();
  const probabilities = [...(first.value ? first.value.probabilities.values() : [])];
  expect(probabilities.length).toBeGreaterThan(0);
  expect(probabilities.every(Number.isFinite)).toBe(true);
  expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
  await sequence.clearHistory();
}

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
      await expectNextTokenDistribution(model, sequence);

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
  for (const [tensorType, seed] of [['f16', 0], ['q4_0', 6]] as const) {
    it(`gives a finite vector as wide as the model (${tensorType})`, async () => {
      const spec = { ...defaultEmbeddingSpec(), tensorType, seed };
      const path = join(dir, `embed-${tensorType}.gguf`);
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
  }
});

describe('q4_0 models', () => {
  // On AVX2 CPUs ggml repacks these matrices (every row count is a multiple of 8) into its
  // CPU_REPACK buffer and multiplies them with its interleaved 8x8 kernels; elsewhere it uses
  // the plain Q4_0 kernels. Either way the model must load and generate (embedding: above).
  it('loads a Q4_0 chat model and generates with finite probabilities', async () => {
    const path = join(dir, 'chat-q4_0.gguf');
    await writeModel(path, { ...defaultChatSpec(), tensorType: 'q4_0', seed: 5 });
    const model = await llama.loadModel({ modelPath: path });
    try {
      expect(model.fileInsights.modelSize).toBeGreaterThan(0);
      const context = await model.createContext({ contextSize: 512, threads: 1 });
      const sequence = context.getSequence();
      await expectNextTokenDistribution(model, sequence);

      const completion = new LlamaCompletion({ contextSequence: sequence });
      const generated: number[] = [];
      const response = await completion.generateCompletionWithMeta('hello world', {
        maxTokens: 4,
        onToken: (chunk) => generated.push(...chunk),
      });
      // Greedy decoding of random weights: 4 tokens unless the first argmax happens to be EOS.
      expect(generated.length).toBeGreaterThan(0);
      expect(generated.length).toBeLessThanOrEqual(4);
      expect(response.metadata.stopReason).toBe('maxTokens');
      expect(typeof response.response).toBe('string');
      await context.dispose();
    } finally {
      await model.dispose();
    }
  });
});

describe('size-targeted files', () => {
  const cases: Array<[bytes: number, type: TensorType]> = [
    [20e6, 'f16'],
    [20e6, 'q4_0'],
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
