import type { Logger } from 'pino';
import type { BackendModel, CatalogModel, ManagedBackend, MeasuredMemory, RunningModel } from '../backend.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../dialects/canonical.js';
import { isWarmgateError, WarmgateError } from '../../errors.js';
import { UpstreamPool, type RawCall, type UpstreamReply, type UpstreamTimeouts } from '../../upstream/upstream-pool.js';
import { llamaServerEmbed, llamaServerGenerate } from '../llama-server-client.js';
import { mmapFor } from '../../memory/estimate.js';
import type { CpuKernels } from '../../memory/weight-repack.js';
import type { Footprint } from '../../scheduler/index.js';
import { expandCommand, fixedMmap } from './command-template.js';
import type { ChildLedger } from './leftovers.js';
import { freePort, ManagedProcess } from './managed-process.js';
import { catalogEntry, runningEntry, showBody } from './model-card.js';
import { contextOf, modelFile, processFootprint } from './process-footprint.js';

export interface ProcessBackendOptions {
  kind: 'embedded' | 'llama-server';
  /** Command template with ${PORT} ${MODEL} ${CTX} ${PARALLEL} ${GPU_LAYERS} ${EMBEDDING}. */
  command: string;
  healthTimeoutMs: number;
  timeouts: UpstreamTimeouts;
  stopGraceMs?: number;
  log: Logger;
  /** The CPU kernels the processes run with: they decide which weights are repacked. */
  kernels: CpuKernels;
  /** The models this backend serves (read when listed: the registry is built after the backends). */
  models: () => BackendModel[];
  /** Records each process for the next gateway to reap should this one die. */
  ledger?: ChildLedger;
}

interface Running {
  proc: ManagedProcess;
  pool: UpstreamPool;
  gpuLayers: number;
  measured: MeasuredMemory;
}

/**
 * One llama-server-compatible process per model (the embedded worker or llama-server):
 * load starts it and waits for `/health`, unload stops it. A crash marks the model
 * unloaded, fails what was in flight with BACKEND_CRASHED and is reported to listeners;
 * the next request starts it again.
 */
export class ProcessBackend implements ManagedBackend {
  readonly dialect = 'llama-server' as const;
  readonly managed = true;
  readonly takesLoadOptions = false;
  readonly pinsItself = false;
  /** Nothing expires a process on its own: the scheduler unloads it after the model's keep-alive. */
  readonly expiresIdleModels = false;
  /** Its processes live on the gateway host. */
  readonly domain = undefined;
  readonly name: string;
  readonly kind: 'embedded' | 'llama-server';
  readonly #opts: ProcessBackendOptions;
  readonly #running = new Map<string, Running>();
  readonly #starting = new Map<string, Promise<Running>>();
  /** Every process started and not yet seen dead (loading, serving or stopping), for `pids()`. */
  readonly #spawned = new Map<ManagedProcess, string>();
  readonly #crashListeners: Array<(model: string, message: string) => void> = [];

  constructor(name: string, opts: ProcessBackendOptions) {
    this.name = name;
    this.kind = opts.kind;
    this.#opts = opts;
  }

  /** A crashed process: its model is gone. */
  onLost(listener: (model: string, message: string) => void): void {
    this.#crashListeners.push(listener);
  }

  /**
   * How this model's process will load it: its CPU kernels, and its mmap setting (a command
   * without `${MMAP}` fixes it itself; `auto` is decided from the GGUF by whoever reads it).
   * The estimate and the start both ask here, so they agree.
   */
  loadSettings(entry: BackendModel): { kernels: CpuKernels; mmap: boolean | 'auto' } {
    return { kernels: this.#opts.kernels, mmap: fixedMmap(this.#opts.command, entry.config.extra_args) ?? entry.config.mmap };
  }

  /** Whether a start with `gpuLayers` offloaded maps the weights (`auto` decided from the GGUF). */
  async mapsWeights(entry: BackendModel, gpuLayers = 0): Promise<boolean> {
    const { kernels, mmap } = this.loadSettings(entry);
    return entry.config.file ? mmapFor(entry.config.file, mmap, kernels, gpuLayers) : mmap !== false;
  }

  /** A raw call to the model's own process (llama-server native passthrough). */
  async forward(entry: BackendModel, call: RawCall): Promise<UpstreamReply> {
    return (await this.#ensure(entry)).pool.request(call);
  }

  /**
   * The GGUF estimate for the model's context and slots, with the CPU kernels and mmap
   * choice its start will use (`loadSettings`), plus the runtime's own RSS.
   */
  async estimate(entry: BackendModel, gpuPool: string | undefined): Promise<Footprint> {
    return processFootprint(entry, { runtime: this.kind, settings: this.loadSettings(entry), gpuPool });
  }

  async *generate(entry: BackendModel, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    const running = await this.#ensure(entry);
    try {
      yield* llamaServerGenerate(running.pool, this.name, req, signal);
    } catch (err) {
      throw await this.#crashError(entry, running, err, signal);
    }
  }

  async embed(entry: BackendModel, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const running = await this.#ensure(entry);
    try {
      return await llamaServerEmbed(running.pool, entry.name, req, signal);
    } catch (err) {
      throw await this.#crashError(entry, running, err, signal);
    }
  }

  async load(entry: BackendModel, opts: { gpuLayers?: number; signal: AbortSignal }): Promise<{ measured?: MeasuredMemory }> {
    const running = await this.#start(entry, opts.gpuLayers, opts.signal);
    return { measured: running.measured };
  }

  async unload(entry: BackendModel): Promise<void> {
    const running = this.#running.get(entry.name);
    if (!running) return;
    this.#running.delete(entry.name);
    await running.proc.stop();
    await running.pool.close();
  }

  /** Whether the model's process is up (for the residency shell's reconciliation). */
  isRunning(model: string): boolean {
    return this.#running.get(model)?.proc.alive ?? false;
  }

  /** The OS process id of the model's running process, if any (read-only: tests and diagnostics). */
  pidOf(model: string): number | undefined {
    const r = this.#running.get(model);
    return r?.proc.alive ? r.proc.pid : undefined;
  }

  /**
   * Every live process (pid -> model), whatever its state: loading, serving, or stopping
   * after an unload, which `pidOf` no longer shows. Read-only: tests and benchmarks sum the
   * real memory of what is resident.
   */
  pids(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [proc, model] of this.#spawned) {
      if (!proc.alive) this.#spawned.delete(proc);
      else if (proc.pid !== undefined) out.set(proc.pid, model);
    }
    return out;
  }

  async catalog(): Promise<CatalogModel[]> {
    return Promise.all(this.#opts.models().map((e) => catalogEntry(e)));
  }

  async running(): Promise<RunningModel[]> {
    const out: RunningModel[] = [];
    for (const entry of this.#opts.models()) {
      const r = this.#running.get(entry.name);
      if (r?.proc.alive) out.push(await runningEntry(entry, r.measured, contextOf(entry)));
    }
    return out;
  }

  async show(entry: BackendModel): Promise<Record<string, unknown>> {
    return showBody(entry);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((name) => this.unload({ name } as BackendModel)));
  }

  /**
   * The running process. Only the scheduler starts processes (so the memory ledger stays
   * true); a request that finds none raced a crash and fails clearly.
   */
  async #ensure(entry: BackendModel): Promise<Running> {
    const r = this.#running.get(entry.name);
    if (r?.proc.alive) return r;
    throw processGone(entry.name);
  }

  #start(entry: BackendModel, gpuLayers: number | undefined, signal: AbortSignal): Promise<Running> {
    const pending = this.#starting.get(entry.name);
    if (pending) return pending;
    const start = (async () => {
      await this.unload(entry);
      const file = modelFile(entry);
      const layers = gpuLayers ?? (entry.config.gpu_layers === 'auto' ? 0 : entry.config.gpu_layers);
      const [port, mmap] = await Promise.all([freePort(), this.mapsWeights(entry, layers)]);
      const argv = expandCommand(this.#opts.command, {
        PORT: port, MODEL: file, CTX: contextOf(entry), PARALLEL: entry.config.parallel,
        GPU_LAYERS: layers, EMBEDDING: entry.type === 'embedding', THREADS: entry.config.threads, MMAP: mmap,
      });
      argv.push(...entry.config.extra_args);
      const proc = new ManagedProcess({
        argv, port, model: entry.name, log: this.#opts.log, healthTimeoutMs: this.#opts.healthTimeoutMs,
        stopGraceMs: this.#opts.stopGraceMs ?? 5_000, onCrash: (message) => this.#crashed(entry.name, proc, message), ledger: this.#opts.ledger,
      });
      for (const p of this.#spawned.keys()) if (!p.alive) this.#spawned.delete(p);
      this.#spawned.set(proc, entry.name);
      try {
        await proc.waitHealthy(signal);
      } catch (err) {
        await proc.stop();
        throw isWarmgateError(err) ? err : new WarmgateError('LOAD_FAILED', `loading ${entry.name} failed: ${(err as Error).message}`, { cause: err });
      }
      const pool = new UpstreamPool(`http://127.0.0.1:${port}`, { backend: this.name, timeouts: this.#opts.timeouts });
      const running: Running = { proc, pool, gpuLayers: layers, measured: await measure(proc, pool) };
      this.#running.set(entry.name, running);
      return running;
    })().finally(() => this.#starting.delete(entry.name));
    this.#starting.set(entry.name, start);
    return start;
  }

  #crashed(model: string, proc: ManagedProcess, message: string): void {
    const r = this.#running.get(model);
    if (r?.proc === proc) {
      this.#running.delete(model);
      void r.pool.close();
    }
    for (const listener of this.#crashListeners) listener(model, message);
  }

  /**
   * An error while talking to the process: if it died, say so clearly. A broken socket or a
   * reply cut short may arrive before the exit event: give the exit a moment, so the caller's
   * next request already finds the model unloaded. An error the process sent as a whole reply
   * (any status) passes at once: it was alive to send it.
   */
  async #crashError(entry: BackendModel, running: Running, err: unknown, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) return err;
    const suspect = !isWarmgateError(err) || (!err.replied && (err.code === 'WG_UPSTREAM_ERROR' || err.code === 'WG_UPSTREAM_UNREACHABLE'));
    if (!suspect) return err;
    const broken = (err as { code?: string }).code === 'UND_ERR_SOCKET' || (isWarmgateError(err) && err.code === 'WG_UPSTREAM_UNREACHABLE');
    const died = await running.proc.exitedWithin(broken ? 2_000 : 200);
    if (!died && !broken) return err;
    return processGone(entry.name, err);
  }
}

/**
 * The process's resident memory, all of it charged: its file pages are the binary and, when
 * mapped, the weights it reads on every token (with `mmap: auto` no repacked weight is left
 * mapped beside its copy). VRAM as the worker reports it in `/props` (llama-server: 0).
 */
async function measure(proc: ManagedProcess, pool: UpstreamPool): Promise<MeasuredMemory> {
  let gpu = 0;
  try {
    const props = await pool.json<{ warmgate?: { vram_bytes?: number } }>({ method: 'GET', path: '/props' });
    gpu = props.warmgate?.vram_bytes ?? 0;
  } catch {
    // a server without /props still has an RSS
  }
  const { rss, anon, file } = await proc.memory();
  return { ram: rss, gpu, anon, file };
}

/** The model's process died (found dead, or died under a request): one wording, whichever. */
function processGone(model: string, cause?: unknown): WarmgateError {
  return new WarmgateError('BACKEND_CRASHED', `the backend process for ${model} crashed; the next request starts it again`, { cause });
}
