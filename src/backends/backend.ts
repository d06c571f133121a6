import type { Readable } from 'node:stream';
import type { BackendConfig } from '../config/schema.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../dialects/canonical.js';
import type { ModelEntry } from '../models/model-entry.js';

/** A raw reply from an upstream, body not yet read. */
export interface UpstreamReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface RawCall {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD';
  path: string;
  /** A JSON body. */
  body?: unknown;
  /** A raw body streamed as is (Ollama blob uploads), with its content type. */
  raw?: { body: AsyncIterable<Uint8Array>; contentType: string };
  signal?: AbortSignal;
}

/**
 * Footprint measured after a load (bytes), replacing the estimate in the ledger. `ram` is
 * what the ledger charges; a process backend also says how much of it is anonymous and how
 * much file-backed (its binary and mmapped weights).
 */
export interface MeasuredMemory {
  ram: number;
  gpu: number;
  anon?: number;
  file?: number;
}

/** One model as `/api/tags` lists it (Ollama's shape is the gateway's lingua franca for catalogs). */
export interface CatalogModel {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details: {
    parent_model?: string;
    format: string;
    family: string;
    families?: string[] | null;
    parameter_size: string;
    quantization_level: string;
  };
}

export interface RunningModel extends CatalogModel {
  expires_at: string;
  size_vram: number;
  context_length?: number;
}

/**
 * What the gateway needs from a backend. Errors are WarmgateErrors with stable codes;
 * `generate` yields events as the upstream produces them (nothing is buffered whole).
 */
export interface Backend {
  readonly name: string;
  readonly kind: BackendConfig['kind'];
  /** Native dialect: requests in the same dialect may pass through with minimal edits. */
  readonly dialect: 'ollama' | 'llama-server';
  /** False when the gateway cannot load or unload its models (an external server). */
  readonly managed: boolean;

  /** A raw call in the backend's own dialect, for passthrough and management routes. */
  call(req: RawCall): Promise<UpstreamReply>;
  generate(model: ModelEntry, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  embed(model: ModelEntry, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult>;

  /** Makes the model resident with its pinned load options; resolves when it can serve. */
  load(model: ModelEntry, opts: { gpuLayers?: number; signal: AbortSignal }): Promise<{ measured?: MeasuredMemory }>;
  unload(model: ModelEntry): Promise<void>;

  /** Models this backend can serve (discovered ones included). */
  catalog(): Promise<CatalogModel[]>;
  /** Models resident right now, as the backend itself reports them. */
  running(): Promise<RunningModel[]>;
  /** Ollama's `/api/show` body for the model. */
  show(model: ModelEntry): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}
