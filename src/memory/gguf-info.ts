/**
 * What the gateway tells clients about a model file (Ollama `/api/show`, `/api/tags`), read
 * from its GGUF header with node-llama-cpp; no tensor data is read and no backend started.
 */
import { stat } from 'node:fs/promises';
import { GgmlType, GgufFileType, GgufInsights, readGgufFileInfo, type GgufFileInfo } from 'node-llama-cpp';

export interface ModelInfo {
  architecture: string;
  name?: string;
  /** Trained context length (`<arch>.context_length`). */
  contextLength?: number;
  embeddingLength?: number;
  blockCount?: number;
  parameterCount: number;
  /** `general.file_type` as a number, and as the usual label ("Q8_0", "F16", "Q4_K_M"). */
  fileType?: number;
  quantization: string;
  /** The whole file, in bytes. */
  sizeBytes: number;
  /** Produces embeddings rather than text: a pooling type is set, or the name says "embed". */
  isEmbedding: boolean;
  /** Ollama's `details.family`: the architecture, as Ollama reports it. */
  family: string;
  chatTemplate?: string;
}

/** llama.cpp pooling types that yield one vector per input (mean, cls, last); rank (4) scores pairs. */
const EMBEDDING_POOLING = new Set([1, 2, 3]);

export async function readModelInfo(file: string): Promise<ModelInfo> {
  const [info, { size }] = await Promise.all([readGgufFileInfo(file, { logWarnings: false }), stat(file)]);
  return describeModel(info, size, await GgufInsights.from(info));
}

/** The same, from an already parsed header (for callers that also estimate memory from it). */
export function describeModel(info: GgufFileInfo, sizeBytes: number, insights: GgufInsights): ModelInfo {
  const general = info.metadata.general;
  const arch = info.architectureMetadata as {
    context_length?: number;
    embedding_length?: number;
    block_count?: number;
  };
  const name = general?.name;
  const architecture = String(general?.architecture ?? 'unknown');
  return {
    architecture,
    name,
    contextLength: arch.context_length,
    embeddingLength: arch.embedding_length,
    blockCount: arch.block_count,
    parameterCount: insights.totalParameters,
    fileType: general?.file_type,
    quantization: quantizationLabel(general?.file_type, insights.dominantTensorType),
    sizeBytes,
    isEmbedding: isEmbeddingModel(info),
    family: architecture,
    chatTemplate: info.metadata.tokenizer?.chat_template,
  };
}

/** True when the model yields embeddings: a vector pooling type is set, or its name says "embed". */
export function isEmbeddingModel(info: GgufFileInfo): boolean {
  const pooling = (info.architectureMetadata as { pooling_type?: number }).pooling_type;
  return EMBEDDING_POOLING.has(pooling ?? -1) || /embed/i.test(info.metadata.general?.name ?? '');
}

/** "Q8_0" for MOSTLY_Q8_0, "F32" for ALL_F32; files without file_type fall back to their dominant tensor type. */
export function quantizationLabel(fileType: number | undefined, dominant?: GgmlType): string {
  const named = fileType === undefined ? undefined : (GgufFileType as Record<number, string | undefined>)[fileType];
  if (named) return named.replace(/^(MOSTLY|ALL)_/, '');
  const tensorType = dominant === undefined ? undefined : (GgmlType as Record<number, string | undefined>)[dominant];
  return tensorType ?? 'unknown';
}
