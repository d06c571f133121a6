import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { BackendModel, CatalogModel, MeasuredMemory, RunningModel } from '../backend.js';
import { readModelInfo, type ModelInfo } from '../../memory/gguf-info.js';

/** Ollama's `expires_at` for a model kept forever (what Ollama itself reports for keep_alive -1). */
const FOREVER = '2318-01-01T00:00:00Z';

const infoCache = new Map<string, Promise<ModelInfo>>();

/** GGUF metadata of a model file, read once per file. */
export function infoOf(entry: BackendModel): Promise<ModelInfo> {
  const file = entry.config.file!;
  let info = infoCache.get(file);
  if (!info) {
    info = readModelInfo(file);
    infoCache.set(file, info);
    info.catch(() => infoCache.delete(file));
  }
  return info;
}

/** A process-backend model as Ollama's `/api/tags` lists it, from its GGUF. */
export async function catalogEntry(entry: BackendModel): Promise<CatalogModel> {
  const info = await infoOf(entry);
  const st = await stat(entry.config.file!);
  return {
    name: entry.name,
    model: entry.name,
    modified_at: st.mtime.toISOString(),
    size: info.sizeBytes,
    digest: createHash('sha256').update(`${entry.config.file}:${st.size}:${st.mtimeMs}`).digest('hex'),
    details: {
      parent_model: '',
      format: 'gguf',
      family: info.family,
      families: [info.family],
      parameter_size: parameterSize(info.parameterCount),
      quantization_level: info.quantization,
    },
  };
}

export async function runningEntry(entry: BackendModel, measured: MeasuredMemory, contextLength: number): Promise<RunningModel> {
  const base = await catalogEntry(entry);
  return { ...base, size: measured.ram + measured.gpu, size_vram: measured.gpu, expires_at: FOREVER, context_length: contextLength };
}

/** Ollama's `/api/show` body: AnythingLLM reads `capabilities` and `model_info["<arch>.context_length"]`. */
export async function showBody(entry: BackendModel): Promise<Record<string, unknown>> {
  const info = await infoOf(entry);
  const tags = await catalogEntry(entry);
  const arch = info.architecture;
  return {
    license: '',
    modelfile: `FROM ${entry.config.file}`,
    parameters: '',
    template: info.chatTemplate ?? '',
    details: tags.details,
    model_info: {
      'general.architecture': arch,
      'general.name': info.name,
      'general.parameter_count': info.parameterCount,
      [`${arch}.context_length`]: info.contextLength,
      [`${arch}.embedding_length`]: info.embeddingLength,
      [`${arch}.block_count`]: info.blockCount,
    },
    capabilities: info.isEmbedding || entry.type === 'embedding' ? ['embedding'] : ['completion'],
    modified_at: tags.modified_at,
  };
}

/** Ollama's style: "7.2B", "137M". */
export function parameterSize(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  return `${Math.round(count / 1e3)}K`;
}
