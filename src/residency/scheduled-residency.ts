import type { Logger } from 'pino';
import { keepAliveSeconds } from '../config/units.js';
import { clientClosed, shuttingDown, WarmgateError } from '../errors.js';
import { answering, isManaged, reportedMemory, runsUpstream, type Backend, type LoadResult, type ManagedBackend, type RunningModel } from '../backends/backend.js';
import { hostsOf, type ModelEntry } from '../models/model-entry.js';
import { bytesAt, RAM_POOL, Scheduler, type Effects, type Footprint, type GrantInfo, type ModelRegistration, type StartLoadOptions, type Rejection, type SchedulerConfig } from '../scheduler/index.js';
import { RemotePlacement, type ReportingHost } from './remote-placement.js';
import type { Lease, Residency, ResidencyStatus } from './residency.js';

export interface ScheduledResidencyOptions {
  config: SchedulerConfig;
  log: Logger;
  /** Budget per pool (`ram`, and `gpu0` where a GPU is present). */
  budgets: Record<string, number>;
  /** The GPU pool estimates are made for, when one is scheduled. */
  gpuPool?: string;
  /** How often resident models are checked against what each backend says is running; 0 disables. */
  reconcileMs?: number;
  /** Every model the gateway serves (catalogs refreshed): one a backend with its own memory domain holds joins the ledger at reconciliation. */
  served?: () => Promise<readonly ModelEntry[]>;
  /** Backends that report their own residency (remote Warmgates): placement over them reads it. */
  reportingHosts?: Iterable<ReportingHost>;
}

/** A model whose backend the scheduler loads and unloads. */
type ManagedEntry = ModelEntry & { backend: ManagedBackend };

interface Waiter {
  entry: ModelEntry;
  registerMs: number;
  resolve: (lease: Lease) => void;
  reject: (err: Error) => void;
}

interface Settler {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The shell around the pure scheduler: the one owner of its state. It turns requests into
 * scheduler events, carries out the scheduler's effects against backends, and feeds their
 * outcomes back as events — always from a later turn of the event loop, never from inside
 * an effect — and keeps one timer for the scheduler's next deadline.
 */
export class ScheduledResidency implements Residency {
  readonly #scheduler: Scheduler;
  readonly #remote: RemotePlacement;
  readonly #opts: ScheduledResidencyOptions;
  readonly #entries = new Map<string, ManagedEntry>();
  /** The entry each model's current residency was loaded as (a reload may have replaced `#entries`' since): its unload and checks use it. */
  readonly #loadedAs = new Map<string, ManagedEntry>();
  readonly #registering = new Map<string, Promise<void>>();
  readonly #waiters = new Map<string, Waiter>();
  /** Set by `refuseQueued`: the answer to every request from then on. */
  #refusal: WarmgateError | undefined;
  readonly #loads = new Map<string, AbortController>();
  readonly #loaded = new Map<string, Settler[]>();
  readonly #unloaded = new Map<string, Settler[]>();
  readonly #estimates = new Map<string, Footprint>();
  /** A loaded process model's measured RAM, anonymous and file-backed apart (status, metrics). */
  readonly #resident = new Map<string, { anon: number; file: number }>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  #reconciler: NodeJS.Timeout | undefined;
  #closed = false;
  /** Request ids for the scheduler: unique within this process, which is all it needs. */
  #lastId = 0;

  constructor(opts: ScheduledResidencyOptions) {
    this.#opts = opts;
    const effects: Effects = {
      startLoad: (model, options) => this.#startLoad(model, options),
      cancelLoad: (model) => this.#loads.get(model)?.abort(this.#cancelReason(model)),
      startUnload: (model) => this.#startUnload(model),
      grant: (id, model, info) => this.#grant(id, model, info),
      reject: (id, rejection) => this.#reject(id, rejection),
    };
    this.#scheduler = new Scheduler({ config: opts.config, clock: { now: () => performance.now() }, effects });
    this.#remote = new RemotePlacement(opts.reportingHosts ?? [], opts.config.maxHoldMs);
    for (const [pool, bytes] of Object.entries(opts.budgets)) this.#scheduler.setBudget(pool, bytes);
    if (opts.reconcileMs) {
      this.#reconciler = setInterval(() => void this.reconcile(), opts.reconcileMs);
      this.#reconciler.unref();
    }
  }

  async acquire(entry: ModelEntry, signal: AbortSignal, opts: { avoid?: readonly ModelEntry[] } = {}): Promise<Lease> {
    // A backend its breaker took out refuses at once: no queueing for a load that cannot reach
    // it. A model with several hosts is refused only when none is up (placement skips the rest).
    const hosts = entry.hosts?.filter((h) => !opts.avoid?.includes(h));
    if (!hosts) entry.backend.breaker?.admit();
    else if (hosts.length > 0 && !hosts.some((h) => answering(h.backend))) hosts[0].backend.breaker!.admit();
    // A server Warmgate does not run is always "resident" and not in the ledger: straight
    // through, to the host its own reports make best when there are several.
    if (!managed(entry)) {
      if (!hosts) return { entry, queueMs: 0, loadMs: 0, release: () => {} };
      const { host, done } = this.#remote.place(entry, hosts.filter((h) => answering(h.backend)));
      return { entry: host, queueMs: 0, loadMs: 0, release: done };
    }
    if (this.#refusal) throw this.#refusal;
    // A model's first request waits for its estimate (GGUF read): that wait is queue time too.
    const t0 = performance.now();
    await (hosts ? this.#registerHosts(hosts as ManagedEntry[]) : this.#register(entry));
    signal.throwIfAborted();
    const registerMs = performance.now() - t0;
    const id = String(++this.#lastId);
    const avoid = opts.avoid?.length ? opts.avoid.map(scheduledName) : undefined;
    return new Promise<Lease>((resolve, reject) => {
      this.#waiters.set(id, { entry, registerMs, resolve, reject });
      this.#event(() => this.#scheduler.request({ id, model: entry.name, avoid }));
      // Granted (or refused) at once, the common case on a warm model: nothing to cancel.
      if (!this.#waiters.has(id)) return;
      signal.addEventListener('abort', () => {
        if (!this.#waiters.delete(id)) return;
        reject(clientClosed());
        this.#event(() => this.#scheduler.cancel(id));
      }, { once: true });
    });
  }

  async load(entry: ModelEntry): Promise<void> {
    if (!managed(entry)) return;
    // A model of several hosts is loaded where placement puts a request for it.
    if (entry.hosts) return (await this.acquire(entry, new AbortController().signal)).release();
    await this.#register(entry);
    const state = this.#modelState(entry.name);
    if (state === 'ready') return;
    const done = this.#await(this.#loaded, entry.name);
    this.#event(() => this.#scheduler.adminLoad(entry.name));
    return done;
  }

  async unload(entry: ModelEntry): Promise<void> {
    if (!managed(entry)) {
      throw new WarmgateError('NOT_SUPPORTED', `backend ${entry.backend.name} (${entry.backend.kind}) holds its models itself (a server this gateway does not run): it cannot unload them`);
    }
    if (entry.hosts) {
      await Promise.all(entry.hosts.map((h) => this.unload(h)));
      return;
    }
    await this.#register(entry);
    const state = this.#modelState(entry.name);
    if (state === 'unloaded') return;
    const done = this.#await(this.#unloaded, entry.name);
    this.#event(() => this.#scheduler.adminUnload(entry.name));
    return done;
  }

  reload(entry: ModelEntry): void {
    for (const name of hostsOf(entry).map(scheduledName)) {
      if (this.#entries.has(name)) this.#event(() => this.#scheduler.reload(name));
    }
  }

  /** `backend` noticed its model is gone on its own (process crash, the runtime evicted it). */
  lost(backend: Backend, model: string): void {
    const entry = [...this.#entries.values()].find((e) => e.backend === backend && e.name === model);
    if (entry) this.#lost(scheduledName(entry));
  }

  /** A backend's breaker opened (false) or closed (true): placement skips its copies while it is down. */
  hostHealth(backend: string, up: boolean): void {
    this.#later(() => (up ? this.#scheduler.hostUp(backend) : this.#scheduler.hostDown(backend)));
  }

  #lost(name: string): void {
    if (this.#modelState(name) !== undefined) this.#event(() => this.#scheduler.unloadDone(name));
  }

  /**
   * A config reload. Removed models are retired (queued requests refused, unloaded once
   * idle); changed ones (new entries) are estimated again and renewed (in-flight requests
   * finish on the old load, the rest get a fresh one); updated ones (same entry, new
   * policies) are re-registered at once. Models never asked for register on first use as
   * before; models not named are untouched. Resolves once every change reached the scheduler.
   */
  async reconfigure(change: { removed: ModelEntry[]; changed: ModelEntry[]; updated: ModelEntry[] }): Promise<void> {
    const changed = change.changed.flatMap(hostsOf);
    const removed = [...change.removed.flatMap(hostsOf), ...this.#hostsGone(change.changed)];
    const gone = [...removed, ...changed.filter((e) => !managed(e))];
    for (const entry of gone) {
      const name = scheduledName(entry);
      this.#forget(name);
      const message = removed.includes(entry) ? `model '${entry.name}' was removed from the configuration` : `model '${entry.name}' moved to a backend Warmgate does not run; ask again`;
      this.#event(() => this.#scheduler.retireModel(name, message));
    }
    for (const entry of change.updated.flatMap(hostsOf).filter(managed)) {
      const memory = this.#estimates.get(scheduledName(entry));
      if (memory) this.#event(() => this.#scheduler.registerModel(registration(entry, memory)));
    }
    await Promise.all(changed.filter(managed).filter((e) => this.#registering.has(scheduledName(e))).map(async (entry) => {
      const name = scheduledName(entry);
      const before = this.#estimates.get(name);
      // `#entries` keeps the old entry until the new one is registered: a load started meanwhile is the old one's.
      this.#registering.delete(name);
      await this.#register(entry).catch((err: Error) => {
        // No estimate for the new settings: the old load goes all the same, and the next request tries again (and says why).
        this.#opts.log.error({ model: entry.name, err: err.message }, 'cannot estimate the reloaded model');
        if (before) this.#event(() => this.#scheduler.renewModel(registration(entry, before)));
      });
    }));
  }

  /**
   * What was learned about a memory domain no longer holds: conflicts naming a deleted model
   * (`upstream`), or every conflict among the backend's models (undefined: the daemon went
   * away or restarted). Sizes need no forgetting: every load measures them again.
   */
  forget(backend: Backend, upstream: string | undefined): void {
    const names = [...this.#entries.values()].filter((e) => e.backend === backend && (upstream === undefined || runsAs(e, { name: upstream, model: upstream }))).map(scheduledName);
    if (names.length > 0) this.#event(() => this.#scheduler.forgetConflicts(names));
  }

  /**
   * Checks the ledger against each backend's own list of running models (Ollama's
   * /api/ps, live processes), both ways. A ready model that is gone — Ollama evicted or
   * expired it, a process died unnoticed — is marked unloaded. A model that a backend with
   * its own memory domain holds while the ledger does not — another client loaded it, or a
   * load finished after its last waiter left — joins the ledger at its reported size.
   */
  async reconcile(): Promise<void> {
    const served = (await this.#opts.served?.()) ?? [];
    const before = this.#scheduler.snapshot().models;
    const ready = before.filter((m) => m.state === 'ready' && m.inFlight === 0).map((m) => this.#loadedAs.get(m.name)!);
    const unloaded = served.flatMap(hostsOf).filter(managed)
      .filter((e) => e.backend.domain && (before.find((m) => m.name === scheduledName(e))?.state ?? 'unloaded') === 'unloaded');
    const backends = [...new Set([...ready, ...unloaded].map((e) => e.backend))];
    await Promise.all(backends.map(async (backend) => {
      let running: RunningModel[];
      try {
        running = await backend.running();
      } catch {
        return; // an unreachable backend is not evidence that its models are gone
      }
      for (const entry of ready.filter((e) => e.backend === backend)) {
        const name = scheduledName(entry);
        const now = this.#scheduler.snapshot().models.find((m) => m.name === name);
        if (now?.state !== 'ready' || now.inFlight > 0) continue; // changed while we asked
        if (!running.some((r) => runsAs(entry, r))) {
          this.#opts.log.warn({ model: entry.name, backend: backend.name }, 'model is no longer resident at its backend; marking it unloaded');
          this.#lost(name);
        }
      }
      for (const entry of unloaded.filter((e) => e.backend === backend)) {
        const found = running.find((r) => runsAs(entry, r));
        if (found) await this.#adopt(entry, found);
      }
    }));
  }

  keepAliveLeft(): ReadonlyMap<string, number> {
    const left = new Map<string, number>();
    for (const m of this.#scheduler.snapshot().models) if (m.expiresInMs !== undefined) left.set(m.name, m.expiresInMs);
    return left;
  }

  /**
   * The scheduler's snapshot; each loaded process model also carries `residentRam`, its
   * measured RAM split into anonymous and file-backed bytes.
   */
  status(): ResidencyStatus {
    const snapshot = this.#scheduler.snapshot();
    const models = snapshot.models.map((m) => {
      const resident = m.state === 'unloaded' ? undefined : this.#resident.get(m.name);
      return resident ? { ...m, residentRam: resident } : m;
    });
    return { ...snapshot, models };
  }

  /** Stopping: every request waiting for a model gets `err` now (its slot was never granted), and so does any that asks later. */
  refuseQueued(err: WarmgateError): void {
    this.#refusal = err;
    for (const [id, w] of this.#waiters) {
      this.#waiters.delete(id);
      w.reject(err);
      this.#event(() => this.#scheduler.cancel(id));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#reconciler);
    for (const ac of this.#loads.values()) ac.abort();
    for (const [id, w] of this.#waiters) {
      this.#waiters.delete(id);
      w.reject(shuttingDown());
    }
  }

  /** A model its backend holds though the ledger does not: ready, at the backend's own figures. */
  async #adopt(entry: ManagedEntry, running: RunningModel): Promise<void> {
    try {
      await this.#register(entry);
    } catch {
      return; // no estimate now (the daemon went away meanwhile): the next reconciliation tries again
    }
    const name = scheduledName(entry);
    const registered = this.#entries.get(name);
    if (!registered || this.#modelState(name) !== 'unloaded') return; // a load of ours began meanwhile
    this.#loadedAs.set(name, registered);
    this.#opts.log.info({ model: entry.name, backend: entry.backend.name, size: running.size, size_vram: running.size_vram }, 'model is resident at its backend without a load of ours; counting it');
    this.#event(() => this.#scheduler.adopt(name, reportedMemory(running)));
  }

  /**
   * Estimates the model and registers it with the scheduler, once per entry. A model the
   * scheduler still holds is one a reload changed, or removed and added back: renewed.
   */
  #register(entry: ManagedEntry): Promise<void> {
    const name = scheduledName(entry);
    let pending = this.#registering.get(name);
    if (!pending) {
      const registering: Promise<void> = entry.backend.estimate(entry, this.#opts.gpuPool).then((memory) => {
        // A reload replaced or removed the model while it was estimated: that registration wins.
        if (this.#registering.get(name) !== registering) return;
        this.#entries.set(name, entry);
        this.#estimates.set(name, memory);
        const info = registration(entry, memory);
        const known = this.#modelState(name) !== undefined;
        this.#event(() => (known ? this.#scheduler.renewModel(info) : this.#scheduler.registerModel(info)));
      });
      pending = registering;
      pending.catch(() => this.#registering.get(name) === registering && this.#registering.delete(name));
      this.#registering.set(name, pending);
    }
    return pending;
  }

  /**
   * Registers the copies of a model with several hosts, skipping hosts that are down (their
   * estimate would wait on them); fails only when no copy is registered at all.
   */
  async #registerHosts(hosts: readonly ManagedEntry[]): Promise<void> {
    const reachable = hosts.filter((h) => answering(h.backend));
    const results = await Promise.allSettled(reachable.map((h) => this.#register(h)));
    if (hosts.some((h) => this.#entries.get(scheduledName(h)) === h)) return;
    const failed = results.find((r) => r.status === 'rejected');
    throw failed ? failed.reason : new WarmgateError('BACKEND_DOWN', `every backend serving ${hosts[0]?.name} is down`);
  }

  /** Copies a changed model no longer has (a backend left its `backends`): each is retired. */
  #hostsGone(changed: readonly ModelEntry[]): ManagedEntry[] {
    const kept = new Set(changed.flatMap(hostsOf).map(scheduledName));
    const names = new Set(changed.map((e) => e.name));
    return [...this.#entries.values()].filter((e) => names.has(e.name) && !kept.has(scheduledName(e)));
  }

  #forget(model: string): void {
    this.#registering.delete(model);
    this.#entries.delete(model);
  }

  #modelState(model: string): string | undefined {
    return this.#scheduler.snapshot().models.find((m) => m.name === model)?.state;
  }

  #await(table: Map<string, Settler[]>, model: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = table.get(model) ?? [];
      list.push({ resolve, reject });
      table.set(model, list);
    });
  }

  #settle(table: Map<string, Settler[]>, model: string, err?: Error): void {
    const list = table.get(model);
    table.delete(model);
    for (const s of list ?? []) (err ? s.reject(err) : s.resolve());
  }

  /** Runs one scheduler event, then re-arms the single deadline timer if its time changed. */
  #event(fn: () => void): void {
    if (this.#closed) return;
    fn();
    const at = this.#scheduler.nextWakeAt();
    if (at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    if (at !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timerAt = undefined;
        this.#event(() => this.#scheduler.tick());
      }, Math.max(0, at - performance.now()));
      this.#timer.unref();
    }
  }

  /** Effects must not feed events back synchronously: outcomes arrive on a later turn. */
  #later(fn: () => void): void {
    setImmediate(() => this.#event(fn));
  }

  #startLoad(model: string, options: StartLoadOptions): void {
    const entry = this.#entries.get(model)!;
    this.#loadedAs.set(model, entry);
    const ac = new AbortController();
    this.#loads.set(model, ac);
    const t0 = performance.now();
    this.#opts.log.info({ model, gpuLayers: options.gpuLayers }, 'loading model');
    entry.backend.load(entry, { gpuLayers: options.gpuLayers, signal: ac.signal }).then(
      ({ measured, displaced }) => this.#later(() => {
        this.#loads.delete(model);
        this.#opts.log.info({ model, load_ms: Math.round(performance.now() - t0), measured }, 'model ready');
        if (measured?.anon !== undefined) this.#resident.set(model, { anon: measured.anon, file: measured.file ?? 0 });
        else this.#resident.delete(model);
        if (displaced) this.#displaced(entry, displaced);
        this.#scheduler.loadDone(model, { measuredBytes: measured && (measured.exact ? measured : this.#conservative(model, measured)) });
        this.#settle(this.#loaded, model);
      }),
      (err: Error) => this.#later(() => {
        this.#loads.delete(model);
        this.#opts.log.warn({ model, err: err.message }, 'load failed');
        this.#scheduler.loadFailed(model, err.message);
        this.#settle(this.#loaded, model, err instanceof WarmgateError ? err : new WarmgateError('LOAD_FAILED', err.message));
        // An unload asked for while it loaded is done: the load was cancelled or failed.
        if (this.#modelState(model) === 'unloaded') this.#settle(this.#unloaded, model);
      }),
    );
  }

  /**
   * The runtime unloaded models to load `entry`: they are gone from the ledger, and `entry`
   * does not fit beside what it held before, which the scheduler remembers as a conflict.
   */
  #displaced(entry: ManagedEntry, displaced: NonNullable<LoadResult['displaced']>): void {
    const named = (upstream: string) => [...this.#entries.values()].filter((e) => e.backend === entry.backend && e !== entry && runsAs(e, { name: upstream, model: upstream }));
    const dropped = displaced.dropped.flatMap(named).map(scheduledName);
    const before = displaced.before.flatMap(named).map(scheduledName);
    this.#opts.log.warn({ model: entry.name, backend: entry.backend.name, dropped, beside: before }, 'the backend unloaded other models to load this one: they do not fit together; grouping their requests from now on');
    for (const name of dropped) this.#scheduler.unloadDone(name);
    if (dropped.length > 0) this.#scheduler.learnConflict([scheduledName(entry), ...before]);
  }

  /**
   * The ledger keeps the larger of measured and estimated: a model measured right after its
   * warm-up has not yet touched all of its compute buffers, and will as bigger batches run.
   */
  #conservative(model: string, measured: { ram: number; gpu: number }): { ram: number; gpu: number } {
    const estimate = this.#estimates.get(model);
    if (!estimate) return measured;
    const layers = this.#scheduler.snapshot().models.find((m) => m.name === model)?.gpuLayers ?? 0;
    const expected = bytesAt(estimate, layers);
    return { ram: Math.max(measured.ram, expected[RAM_POOL] ?? 0), gpu: Math.max(measured.gpu, estimate.gpu ? (expected[estimate.gpu.pool] ?? 0) : 0) };
  }

  /** Why the scheduler cancels a load: an admin unload asked for during it, or nobody waits any more. */
  #cancelReason(model: string): WarmgateError {
    const wanted = this.#scheduler.snapshot().models.find((m) => m.name === model)?.unloadWanted;
    return wanted
      ? new WarmgateError('LOAD_CANCELLED', `loading ${model} was cancelled: an unload was asked for while it loaded`)
      : new WarmgateError('CLIENT_CLOSED', 'load cancelled: nobody waits for it');
  }

  #startUnload(model: string): void {
    const entry = this.#loadedAs.get(model)!;
    this.#opts.log.info({ model }, 'unloading model');
    entry.backend.unload(entry).then(
      () => this.#later(() => {
        this.#scheduler.unloadDone(model);
        this.#settle(this.#unloaded, model);
      }),
      (err: Error) => this.#later(() => {
        this.#scheduler.unloadFailed(model, err.message);
        this.#settle(this.#unloaded, model, new WarmgateError('UNAVAILABLE', `unloading ${model} failed: ${err.message}`));
      }),
    );
  }

  #grant(id: string, model: string, info: GrantInfo): void {
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    if (!waiter) {
      // The waiter left between the scheduler's decision and now: hand the slot straight back.
      this.#later(() => this.#scheduler.serveDone(id));
      return;
    }
    let released = false;
    waiter.resolve({
      // The copy placement chose, for a model of several hosts.
      entry: waiter.entry.hosts ? (this.#entries.get(model) ?? waiter.entry) : waiter.entry,
      // The scheduler's wait includes the load; a lease reports the two apart (they add up).
      queueMs: info.queueMs - info.loadMs + waiter.registerMs,
      loadMs: info.loadMs,
      release: () => {
        if (released) return;
        released = true;
        // Reported on a later turn: work the release itself sets in motion (the embedding
        // batcher sends the batch that gathered behind this call as soon as it returns)
        // reaches the scheduler first, so the model is not seen idle and evicted in between.
        this.#later(() => this.#scheduler.serveDone(id));
      },
    });
  }

  #reject(id: string, rejection: Rejection): void {
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    waiter?.reject(new WarmgateError(rejection.code, rejection.message, { retryAfter: rejection.retryAfterS }));
  }
}

function managed(entry: ModelEntry): entry is ManagedEntry {
  return isManaged(entry.backend);
}

/** Whether a backend's running model is this entry (`llama3` is `llama3:latest`). */
function runsAs(entry: ModelEntry, running: { name: string; model: string }): boolean {
  return running.name === entry.name || running.model === entry.name || runsUpstream(running, entry.upstream);
}

/**
 * The scheduler's name for an entry: its own, or for one host's copy of a model with several
 * hosts `model@backend` (the name status and metrics show).
 */
function scheduledName(entry: ModelEntry): string {
  return entry.copyOf ? `${entry.copyOf}@${entry.backend.name}` : entry.name;
}

function registration(entry: ManagedEntry, memory: Footprint): ModelRegistration {
  return {
    name: scheduledName(entry), pinned: entry.config.pinned, maxParallel: entry.config.parallel,
    copyOf: entry.copyOf ? { model: entry.copyOf, host: entry.backend.name, replicas: entry.config.replicas } : undefined,
    reloadCostMs: Math.max(100, memory.totalBytes / 2e6), memory, idleUnloadMs: idleUnloadMs(entry),
    // A runtime with its own memory domain places the layers itself: its models are admitted whole.
    gpuLayers: entry.backend.domain ? (memory.gpu?.layers ?? 0) : entry.config.gpu_layers,
  };
}

/** The model's keep-alive, where the gateway must enforce it: a runtime that does not expire its own models. */
function idleUnloadMs(entry: ManagedEntry): number | undefined {
  if (entry.backend.expiresIdleModels) return undefined;
  const seconds = keepAliveSeconds(entry.config.keep_alive);
  return seconds === undefined || seconds < 0 ? undefined : seconds * 1000;
}
