/**
 * Shared by `llama-server-swap.test.ts` and `bench/swap.ts`: generated models served by real
 * llama-server processes (the binary `npm run setup:llama-server` builds), the gateway's own
 * estimates of them, and the resident memory of a process from /proc.
 */
import { existsSync } from 'node:fs';
import { cachedLlamaServer } from '../../src/backends/process/llama-server-binary.js';
import { ProcessBackend } from '../../src/backends/process/process-backend.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { cachedModel, type CachedModel } from '../support/cached-model.js';
import type { RunningGateway } from '../../src/app/server.js';
import { specForSize } from '../../src/gguf/index.js';
import { estimatedBytes, testGateway } from '../support/gateway.js';

/**
 * The path of the llama-server binary the default `llama-server` command runs. Missing, it
 * is an error, not a skip: `npm test` builds it first (pretest).
 */
export function requireLlamaServer(): string {
  const bin = cachedLlamaServer();
  if (!existsSync(bin)) {
    throw new Error(`llama-server is not built (no ${bin}): run \`npm run setup:llama-server\` (npm test runs it as its pretest step)`);
  }
  return bin;
}

/** The llama-server backend's name in these configs. */
export const LS = 'ls';

export type ModelsConfig = NonNullable<ConfigInput['models']>;

export interface LlamaModelSpec {
  /** GGUF file size (Q8_0). */
  bytes: number;
  type: 'chat' | 'embedding';
  seed: number;
  ctx?: number;
}

/**
 * Generates (once, cached in the OS temp folder) each model and its config on the llama-server
 * backend: CPU only (`gpu_layers: 0`) and one thread (2 shared cores; llama.cpp threads spin
 * when oversubscribed).
 */
export async function llamaModels(specs: Record<string, LlamaModelSpec>): Promise<{ files: Record<string, CachedModel>; models: ModelsConfig }> {
  const files: Record<string, CachedModel> = {};
  const models: ModelsConfig = {};
  for (const [name, s] of Object.entries(specs)) {
    const embedding = s.type === 'embedding';
    files[name] = await cachedModel(specForSize(s.bytes, { tensorType: 'q8_0', embedding, name: `warmgate-${name}`, seed: s.seed }));
    models[name] = { backend: LS, file: files[name].path, type: s.type, ctx: s.ctx ?? 512, gpu_layers: 0, threads: 1 };
  }
  return { files, models };
}

/** A gateway with the models on a llama-server backend (the default command: the cached binary). */
export async function llamaGateway(models: ModelsConfig, memory: { ram: number }, extra: Partial<ConfigInput> = {}): Promise<{ gw: RunningGateway; backend: ProcessBackend }> {
  const gw = await testGateway({
    backends: { [LS]: { kind: 'llama-server' } },
    models,
    memory: { ram: memory.ram, gpu: 0, reserve: 0 },
    scheduler: { reconcile_s: 0 },
    ...extra,
  });
  const backend = gw.backends.get(LS);
  if (!(backend instanceof ProcessBackend)) throw new Error(`backend ${LS} is not a ProcessBackend`);
  return { gw, backend };
}

/**
 * The gateway's own estimates (what its scheduler admits loads with, RAM pool): a throwaway
 * gateway with the same models, `estimatedBytes` on each entry. For llama-server there is no
 * runtime baseline: the estimate is the model's weights, KV cache and compute buffers.
 */
export async function gatewayEstimates(models: ModelsConfig): Promise<Record<string, number>> {
  const { gw } = await llamaGateway(models, { ram: 1e12 });
  try {
    const out: Record<string, number> = {};
    for (const entry of gw.registry.known()) out[entry.name] = await estimatedBytes(gw, entry.name);
    return out;
  } finally {
    await gw.close();
  }
}

