/**
 * One loaded GGUF and what serves it: the LlamaModel is created once and every request
 * reuses it, through either a Generator (a context with one sequence per slot) or, with
 * `--embedding`, an Embedder (an embedding context) — never both, like llama-server.
 *
 * `load` ends with a warm-up inference so that lazily allocated buffers are taken before
 * the worker reports ready and its memory is measured.
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import type { WorkerConfig } from './cli-args.js';
import { Embedder } from './embedder.js';
import { Generator } from './generator.js';
import { toGenerationParams } from './sampling.js';

export interface EngineInfo {
  modelPath: string;
  alias: string;
  /** Tokens each slot can hold. */
  contextSize: number;
  slots: number;
  embedding: boolean;
  chatTemplate: string;
  gpuLayers: number;
  /** From the start of `load` to the end of the warm-up. */
  loadMs: number;
  trainContextSize: number;
  embeddingSize: number;
  modelBytes: number;
}

export interface EngineMemory {
  rss_bytes: number;
  /** VRAM in use on the device (0 without a GPU). */
  vram_bytes: number;
}

/** Receives node-llama-cpp's own log lines (warnings and worse). */
export type EngineLog = (level: 'warn' | 'error', message: string) => void;

/** What serves the model: a generator or an embedder, and the context it runs on. */
interface Served {
  contextSize: number;
  slots: number;
  generator?: Generator;
  embedder?: Embedder;
  context: { dispose(): Promise<void> };
}

export class Engine {
  readonly info: EngineInfo;
  /** Present unless the worker serves embeddings. */
  readonly generator: Generator | undefined;
  /** Present only with `--embedding`. */
  readonly embedder: Embedder | undefined;
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #context: Served['context'];

  private constructor(config: WorkerConfig, llama: Llama, model: LlamaModel, served: Served, loadMs: number) {
    this.#llama = llama;
    this.#model = model;
    this.#context = served.context;
    this.generator = served.generator;
    this.embedder = served.embedder;
    this.info = {
      modelPath: config.model,
      alias: config.alias ?? basename(config.model),
      contextSize: served.contextSize,
      slots: served.slots,
      embedding: config.embedding,
      chatTemplate: model.fileInfo.metadata.tokenizer?.chat_template ?? '',
      gpuLayers: model.gpuLayers,
      loadMs,
      trainContextSize: model.trainContextSize,
      embeddingSize: model.embeddingVectorSize,
      modelBytes: model.size,
    };
  }

  static async load(config: WorkerConfig, log: EngineLog): Promise<Engine> {
    const startedAt = performance.now();
    const llama = await getLlama({
      // Without GPU layers there is no point probing CUDA/Vulkan binaries.
      gpu: config.gpuLayers === 0 ? false : 'auto',
      build: 'never',
      progressLogs: false,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => log(level === LlamaLogLevel.warn ? 'warn' : 'error', message),
    });
    const model = await llama.loadModel({ modelPath: config.model, gpuLayers: config.gpuLayers, useMmap: config.mmap });
    const contextSize = config.ctx === 0 ? model.trainContextSize : Math.floor(config.ctx / config.parallel);
    // node-llama-cpp counts the machine's cores, not the ones this process may use (a
    // container's CPU limit); more threads than those makes llama.cpp's spinning threads crawl.
    const threads = config.threads ?? Math.min(llama.cpuMathCores, availableParallelism());
    const opts = { contextSize, threads, parallel: config.parallel };
    const served = config.embedding ? await serveEmbeddings(model, opts) : await serveGeneration(model, opts);
    return new Engine(config, llama, model, served, performance.now() - startedAt);
  }

  async memory(): Promise<EngineMemory> {
    const vram = await this.#llama.getVramState();
    return { rss_bytes: process.memoryUsage().rss, vram_bytes: vram.used };
  }

  tokenize(text: string, addSpecial: boolean): Token[] {
    const tokens = this.#model.tokenize(text, true);
    const bos = this.#model.tokens.bos;
    return addSpecial && bos !== null && this.#model.tokens.shouldPrependBosToken && tokens[0] !== bos ? [bos, ...tokens] : tokens;
  }

  /** `after`: tokens that precede `tokens` in the text (they decide leading spaces). Ids as clients send them. */
  detokenize(tokens: readonly number[], after: readonly number[] = []): string {
    return this.#model.detokenize(tokens as readonly Token[], true, after as readonly Token[]);
  }

  /** Aborts generations in flight and queued, then frees the context, the model and the backend. */
  async dispose(): Promise<void> {
    this.generator?.abortAll();
    await this.#context.dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }
}

// Warm-ups are never cut short here: the parent bounds the whole load with its own timeout.
const unbounded = new AbortController().signal;

interface ContextOptions {
  contextSize: number;
  threads: number;
  parallel: number;
}

async function serveEmbeddings(model: LlamaModel, { contextSize, threads }: ContextOptions): Promise<Served> {
  // Pooled embeddings need the whole input in one batch.
  const context = await model.createEmbeddingContext({ contextSize, batchSize: contextSize, threads });
  const embedder = new Embedder(context, contextSize);
  await embedder.embed(['warm up'], unbounded);
  return { contextSize, slots: 1, embedder, context };
}

async function serveGeneration(model: LlamaModel, { contextSize, threads, parallel }: ContextOptions): Promise<Served> {
  const context = await model.createContext({ sequences: parallel, contextSize, threads });
  const generator = new Generator(context);
  const greedy = toGenerationParams({ temperature: 0 }, 4, context.contextSize);
  await generator.complete(generator.promptTokens('Hello'), greedy, undefined, unbounded);
  return { contextSize: context.contextSize, slots: generator.slots, generator, context };
}
