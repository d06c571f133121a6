import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { modelSchema, type ModelConfig } from '../config/schema.js';
import { defaultChatSpec, defaultEmbeddingSpec, writeModel, type ModelSpecInput } from '../gguf/index.js';
import { readModelInfo } from '../memory/gguf-info.js';
import type { ModelEntry } from './model-entry.js';

/**
 * Every `*.gguf` in a folder as a model on a process backend: the name is the file name
 * without extension; `embed`/`embedding` in the name, or GGUF metadata (a pooling type),
 * marks an embedding model.
 */
export async function modelsFromDir(dir: string, backend: Backend, extra: Partial<ModelConfig> = {}): Promise<ModelEntry[]> {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => extname(f).toLowerCase() === '.gguf').sort();
  return Promise.all(files.map((f) => localModel(join(resolve(dir), f), backend, extra)));
}

/** Context a local model is started with: its trained length, capped (KV memory grows with it). */
const LOCAL_CTX_CAP = 4096;

export async function localModel(file: string, backend: Backend, extra: Partial<ModelConfig> = {}): Promise<ModelEntry> {
  const name = basename(file, extname(file));
  const info = await readModelInfo(file);
  const type = /embed/i.test(name) || info.isEmbedding ? 'embedding' : 'chat';
  const ctx = Math.min(info.contextLength ?? LOCAL_CTX_CAP, LOCAL_CTX_CAP);
  const config = modelSchema.parse({ file, type, ctx, ...extra });
  return { name, upstream: name, backend, config: { ...config, parallel: config.parallel ?? 1 }, type, discovered: true };
}

/** The embedded default's two models, generated once into `<data_dir>/models` and reused after. */
export const DEFAULT_MODELS: Array<{ name: string; spec: () => ModelSpecInput }> = [
  { name: 'warmgate-chat', spec: defaultChatSpec },
  { name: 'warmgate-embed', spec: defaultEmbeddingSpec },
];

export async function ensureDefaultModels(dataDir: string, onWrite: (file: string) => void): Promise<string> {
  const dir = join(resolve(dataDir), 'models');
  await mkdir(dir, { recursive: true });
  for (const { name, spec } of DEFAULT_MODELS) {
    const file = join(dir, `${name}.gguf`);
    if (existsSync(file)) continue;
    onWrite(file);
    // Write beside and rename, so an interrupted start never leaves half a model behind.
    await writeModel(`${file}.partial`, { ...spec(), name });
    await rename(`${file}.partial`, file);
  }
  return dir;
}
