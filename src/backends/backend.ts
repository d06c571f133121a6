import type { BackendConfig, ModelConfig } from '../config/schema.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../dialects/canonical.js';
import type { Footprint, PoolName } from '../scheduler/index.js';
import type { CircuitBreaker } from '../upstream/circuit-breaker.js';
import type { RawCall, UpstreamReply } from '../upstream/upstream-pool.js';

/**
 * backends/ owns the talk with each kind of runtime: canonical calls in, canonical events
 * out, and what differs by kind (how a model loads, what it costs, who expires it) declared
 * here rather than branched on by callers. It may import dialects/, upstream/, memory/,
 * config/ and the scheduler's vocabulary; nothing above it (models/, residency/, gateway/, http/).
 */

/** A model as its backend sees it: the gateway's name, the name upstream, its config and type. */
export interface BackendModel {
  /** Public name clients use (Ollama style, e.g. `llama3.2:latest`). */
  name: string;
  /** Name at the backend (Ollama tag); equals `name` unless configured. */
  upstream: string;
  /** The model's config with its slot count resolved (the backend's default where unset). */
  config: ModelConfig & { parallel: number };
  /** `chat` or `embedding` when known (config, GGUF metadata or the backend's capabilities). */
  type?: 'chat' | 'embedding';
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
  /**
   * The runtime's own accounting (Ollama's `/api/ps`), which the ledger takes as it is;
   * otherwise a sample right after the warm-up, kept only where it exceeds the estimate.
   */
  exact?: boolean;
}

/** A running model as its runtime accounts for it: exact, split between its GPU and RAM. */
export function reportedMemory(running: RunningModel): MeasuredMemory {
  return { gpu: running.size_vram, ram: Math.max(0, running.size - running.size_vram), exact: true };
}

/** What a load did besides making the model resident. */
export interface LoadResult {
  measured?: MeasuredMemory;
  /**
   * The runtime unloaded `dropped` to make room (upstream names), out of `before`, what it
   * held just before the load: the loaded model does not fit beside all of `before`.
   */
  displaced?: { dropped: string[]; before: string[] };
}

/**
 * A runtime whose memory is its own (an Ollama daemon, often on another host or in a
 * container with its own GPU), never the gateway host's. It places a model's layers
 * itself, so its models are admitted whole.
 */
export interface MemoryDomain {
  /** Its pools and their budgets; Infinity where the capacity is not known. */
  readonly budgets: Readonly<Record<PoolName, number>>;
  /**
   * Tells `listener` which learned facts are void: those about a deleted model (its upstream
   * name), or all of them (undefined: the daemon went away or restarted).
   */
  onForget(listener: (upstream: string | undefined) => void): void;
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
 * What every backend does. Errors are WarmgateErrors with stable codes; `generate` yields
 * events as the upstream produces them (nothing is buffered whole).
 */
export interface Backend {
  readonly name: string;
  readonly kind: BackendConfig['kind'];
  /** Native dialect: requests in the same dialect may pass through with minimal edits. */
  readonly dialect: 'ollama' | 'llama-server';
  /** Whether the gateway loads and unloads its models (a `ManagedBackend`); false for a server it does not run. */
  readonly managed: boolean;
  /**
   * Whether every call carries the model's pinned load options (Ollama's `num_ctx` ...), so
   * its context follows the pin and grows; false where the context is fixed at start (`ctx`).
   */
  readonly takesLoadOptions: boolean;
  /**
   * Whether the runtime pins load options and keep-alive itself (a remote Warmgate): the
   * gateway then passes the client's own on untouched instead of its pins.
   */
  readonly pinsItself: boolean;
  /** Its host's health, for an upstream the gateway does not run (`backends.X.breaker`); undefined: none. */
  readonly breaker?: CircuitBreaker;

  generate(model: BackendModel, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  embed(model: BackendModel, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult>;
  /** A raw call in the backend's own dialect to the server that holds the model (passthrough). */
  forward(model: BackendModel, call: RawCall): Promise<UpstreamReply>;
  /**
   * What a failure while a `forward` reply's body was read means, named as `generate` names
   * it (a daemon that died mid-reply); undefined: the failure as it came. Asked by whoever
   * reads the body, so a passthrough stream costs no layer of its own per piece.
   */
  brokenReply?(model: BackendModel, err: unknown, signal: AbortSignal): Error | undefined;

  /** Models this backend can serve (discovered ones included). */
  catalog(): Promise<CatalogModel[]>;
  /** Models resident right now, as the backend itself reports them. */
  running(): Promise<RunningModel[]>;
  /** Ollama's `/api/show` body for the model. */
  show(model: BackendModel): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A backend whose models the scheduler loads and unloads, and whose memory is in the ledger. */
export interface ManagedBackend extends Backend {
  readonly managed: true;
  /**
   * True when the runtime unloads idle models itself (Ollama, told the keep-alive on every
   * call); false when the gateway must (a process it runs).
   */
  readonly expiresIdleModels: boolean;
  /** Its own memory domain; undefined: its models live on the gateway host (`ram`, `gpu0`). */
  readonly domain: MemoryDomain | undefined;
  /**
   * The model's footprint before its first load; `gpuPool` names the gateway host's GPU
   * pool when one is scheduled (a backend with its own domain names its own pools).
   */
  estimate(model: BackendModel, gpuPool: string | undefined): Promise<Footprint>;
  /** Makes the model resident with its pinned load options; resolves when it can serve. */
  load(model: BackendModel, opts: { gpuLayers?: number; signal: AbortSignal }): Promise<LoadResult>;
  unload(model: BackendModel): Promise<void>;
  /** Tells `listener` when a model goes away on its own between loads and unloads (a process crash). */
  onLost(listener: (model: string, message: string) => void): void;
}

/** Whether requests may go to the backend: it has no breaker, or its breaker is closed (open or half-open: down). */
export function answering(backend: Backend): boolean {
  return (backend.breaker?.state ?? 'closed') === 'closed';
}

export function isManaged(backend: Backend): backend is ManagedBackend {
  return backend.managed;
}

/** Whether a model a runtime lists as running (`/api/ps`: name and model) is `upstream` there; an untagged name is `:latest`, as Ollama reads it. */
export function runsUpstream(running: Pick<RunningModel, 'name' | 'model'>, upstream: string): boolean {
  const names = [upstream, upstream.includes(':') ? upstream : `${upstream}:latest`];
  return names.includes(running.name) || names.includes(running.model);
}

/** What a remote Warmgate reports of itself (its `/warmgate/status`, cut to what placing a request needs). */
export interface HostStatus {
  /** `bytes`: the model's footprint there, all pools together (0 when it does not say). */
  models: Array<{ name: string; state: string; queued: number; inFlight: number; maxParallel: number; bytes: number }>;
  /** `budget` absent: a pool whose capacity nobody knows. */
  pools: Array<{ name: string; budget?: number; used: number }>;
}

/** The upstream dropped the connection while its reply was read (it died or restarted), and not because our side stopped reading. */
export function cutMidReply(err: unknown, signal: AbortSignal): boolean {
  return !signal.aborted && (err as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET';
}
