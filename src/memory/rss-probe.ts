/**
 * Child-process script behind `measureRss` (measure.ts): run as
 * `node --expose-gc --import tsx rss-probe.ts '<json ProbeRequest>'`, it prints one JSON line
 * (ProbeReport) and exits. Without a model it measures the runtime baseline: node with
 * node-llama-cpp imported and `getLlama()` done. With one it loads the model (memory-mapped unless
 * `mmap: false`), CPU only, creates a context like the gateway's engine would, and warms it up with one tiny
 * inference (what residency does before measuring a model). A full GC runs before each
 * reading, so garbage in the JS heap does not blur the figures.
 */
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { pathToFileURL } from 'node:url';
import { ownResidentMemory, type ResidentMemory } from './process-memory.js';

export interface ProbeRequest {
  file?: string;
  ctx?: number;
  parallel?: number;
  embedding?: boolean;
  /** Memory-map the weights (default true). */
  mmap?: boolean;
}

export interface ProbeReport extends ResidentMemory {
  /** RSS once the model is loaded, before any context exists (equals `rss` without a model). */
  loadedRss: number;
  /** Milliseconds `loadModel` took. */
  loadMs: number;
}

export async function probe(request: ProbeRequest): Promise<ProbeReport> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  if (!request.file) {
    const memory = settled();
    return { ...memory, loadedRss: memory.rss, loadMs: 0 };
  }
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: request.file, useMmap: request.mmap ?? true, gpuLayers: 0 });
  const loadMs = performance.now() - t0;
  const loadedRss = settled().rss;
  // One thread: ggml's workers spin-wait on each other, which crawls on a shared machine.
  if (request.embedding) {
    const context = await model.createEmbeddingContext({ contextSize: request.ctx, threads: 1 });
    await context.getEmbeddingFor('hello world');
  } else {
    const context = await model.createContext({ contextSize: request.ctx, sequences: request.parallel ?? 1, threads: 1 });
    const generation = context.getSequence().evaluate(model.tokenize('hello world'));
    await generation.next(); // one generated token is the warm-up
    await generation.return();
  }
  return { ...settled(), loadedRss, loadMs: Math.round(loadMs) };
}

function settled(): ResidentMemory {
  (globalThis as { gc?: () => void }).gc?.();
  return ownResidentMemory();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await probe(JSON.parse(process.argv[2] ?? '{}') as ProbeRequest);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0); // skip native teardown: the figures are out
}
