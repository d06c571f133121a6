/**
 * One loaded GGUF and what serves it: the LlamaModel is created once and every request
 * reuses it, through either a Generator (a context with one sequence per slot) or, with
 * `--embedding`, an Embedder (an embedding context) — never both, like llama-server.
 *
 * `load` ends with a warm-up inference so that lazily allocated buffers are taken before
 * the worker reports ready and its memory is measured.
 */
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

export class Engine {
  readonly info: EngineInfo;
  /** Present unless the worker serves embeddings. */
  readonly generator: Generator | undefined;
  /** Present only with `--embedding`. */
  readonly embedder: Embedder | undefined;
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #dispose: () => Promise<void>;

  private constructor(parts: {
    info: EngineInfo;
    llama: Llama;
    model: LlamaModel;
    generator?: Generator;
    embedder?: Embedder;
    dispose: () => Promise<void>;
  }) {
    this.info = parts.info;
    this.#llama = parts.llama;
    this.#model = parts.model;
    this.generator = parts.generator;
    this.embedder = parts.embedder;
    this.#dispose = parts.dispose;
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
    const model = await llama.loadModel({ modelPath: config.model, gpuLayers: config.gpuLayers });
    const contextSize = config.ctx === 0 ? model.trainContextSize : Math.floor(config.ctx / config.parallel);
    const common = { model, llama, config, startedAt };
    if (config.embedding) {
      // Pooled embeddings need the whole input in one batch.
      const context = await model.createEmbeddingContext({ contextSize, batchSize: contextSize, threads: config.threads });
      const embedder = new Embedder(context, contextSize);
      await embedder.embed(['warm up'], AbortSignal.timeout(60_000));
      return Engine.#assemble(common, { contextSize, slots: 1, embedder, dispose: () => context.dispose() });
    }
    const context = await model.createContext({ sequences: config.parallel, contextSize, threads: config.threads });
    const generator = new Generator(context);
    const greedy = toGenerationParams({ temperature: 0 }, 4, context.contextSize);
    await generator.complete(generator.promptTokens('Hello'), greedy, undefined, AbortSignal.timeout(60_000));
    return Engine.#assemble(common, { contextSize: context.contextSize, slots: generator.slots, generator, dispose: () => context.dispose() });
  }

  static #assemble(
    { model, llama, config, startedAt }: { model: LlamaModel; llama: Llama; config: WorkerConfig; startedAt: number },
    served: { contextSize: number; slots: number; generator?: Generator; embedder?: Embedder; dispose: () => Promise<void> },
  ): Engine {
    const info: EngineInfo = {
      modelPath: config.model,
      alias: config.alias ?? basename(config.model),
      contextSize: served.contextSize,
      slots: served.slots,
      embedding: config.embedding,
      chatTemplate: model.fileInfo.metadata.tokenizer?.chat_template ?? '',
      gpuLayers: model.gpuLayers,
      loadMs: performance.now() - startedAt,
      trainContextSize: model.trainContextSize,
      embeddingSize: model.embeddingVectorSize,
      modelBytes: model.size,
    };
    return new Engine({ info, llama, model, generator: served.generator, embedder: served.embedder, dispose: served.dispose });
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

  /** `after`: tokens that precede `tokens` in the text (they decide leading spaces). */
  detokenize(tokens: readonly Token[], after: readonly Token[] = []): string {
    return this.#model.detokenize(tokens, true, after);
  }

  /** Aborts generations in flight and queued, then frees the context, the model and the backend. */
  async dispose(): Promise<void> {
    this.generator?.abortAll();
    await this.#dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }
}
