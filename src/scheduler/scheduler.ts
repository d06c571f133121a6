import { Conflicts } from './conflicts.js';
import { Copies } from './copies.js';
import { nextServeMs } from './placement.js';
import { ModelLifecycle } from './lifecycle.js';
import { demandOf, idleExpired, idleUntil, newEntry, serving, type ScheduledModel, type Waiter } from './scheduled-model.js';
import { plan } from './planner.js';
import { avoidsReload, grantInfo, nextToGrant, queueFull } from './request-queue.js';
import { newCounters, snapshotOf, type SchedulerSnapshot } from './snapshot.js';
import type { Clock, Effects, MeasuredBytes, ModelRegistration, PoolName, RejectCode, Rejection, SchedulerConfig } from './types.js';

/** An event's outcome that provably changes no plan: `#event` skips planning. */
const SETTLED = Symbol('settled');

export interface SchedulerOptions {
  readonly config: SchedulerConfig;
  readonly clock: Clock;
  readonly effects: Effects;
}

/**
 * The residency core: the one owner of queues, ledger and model states. Every method is
 * an event; each runs to completion, emits its decisions through `effects`, and never
 * waits. Events about a model in a state where they cannot apply are stale and ignored.
 */
export class Scheduler {
  readonly #config: SchedulerConfig;
  readonly #clock: Clock;
  readonly #effects: Effects;
  readonly #models = new Map<string, ScheduledModel>();
  readonly #budgets = new Map<PoolName, number>();
  readonly #conflicts = new Conflicts();
  readonly #copies = new Copies();
  /** Hosts taken out of placement (their circuit breaker is open). */
  readonly #down = new Set<string>();
  /** When each request on a copy was granted, for the copy's serve time. */
  readonly #grantedAt = new Map<string, number>();
  /** Queued or granted request ids, to their model. */
  readonly #requests = new Map<string, ScheduledModel>();
  #seq = 0;
  #lastWaiter: Waiter | undefined;
  #draining = new Set<ScheduledModel>();
  #planWakeAt: number | undefined;
  #inEvent = false;
  readonly #counters = newCounters();
  readonly #lifecycle: ModelLifecycle;

  constructor(options: SchedulerOptions) {
    this.#config = options.config;
    this.#clock = options.clock;
    this.#effects = options.effects;
    this.#lifecycle = new ModelLifecycle(options.config, options.clock, options.effects, this.#counters);
  }

  /** Adds a model, or updates one: a new footprint or layer preference applies from its next load. */
  registerModel(info: ModelRegistration): void {
    if (!(Number.isInteger(info.maxParallel) && info.maxParallel >= 1)) throw new RangeError(`${info.name}: maxParallel must be an integer >= 1`);
    this.#event(() => {
      const entry = this.#models.get(info.name);
      if (!entry) {
        const created = newEntry(info, this.#now());
        this.#models.set(info.name, created);
        this.#copies.add(created);
      } else {
        if (JSON.stringify(entry.info.memory) !== JSON.stringify(info.memory)) entry.lastMeasured = undefined;
        entry.info = info;
      }
    });
  }

  /**
   * A config reload changed the model's load settings: `info` applies from its next load,
   * and its current residency turns stale, as `reload` does. Undoes a pending `retireModel`.
   */
  renewModel(info: ModelRegistration): void {
    this.registerModel(info);
    this.#event(() => {
      const entry = this.#entry(info.name);
      entry.retired = undefined;
      if (entry.residency) entry.residency.stale = true;
    });
  }

  /**
   * A config reload removed the model: queued waiters and new requests are rejected
   * UNAVAILABLE with `message`; requests in flight finish; the residency turns stale (a
   * load nobody waits for is cancelled) and is unloaded once idle; then the model is
   * forgotten. Unknown names are ignored.
   */
  retireModel(model: string, message: string): void {
    this.#event(() => {
      const entry = this.#models.get(model);
      if (!entry) return;
      entry.retired = message;
      entry.unloadWanted = false;
      if (entry.residency) entry.residency.stale = true;
      this.#failDemand(entry, 'UNAVAILABLE', message);
    });
  }

  /**
   * Bytes models may use in `pool`; a pool without a budget has none (no GPU: no GPU pool).
   * `Infinity`: a capacity nobody knows (an Ollama daemon's until configured), where models
   * are never refused for size nor evicted for room, only for learned conflicts.
   */
  setBudget(pool: PoolName, bytes: number): void {
    this.#event(() => void this.#budgets.set(pool, bytes));
  }

  /**
   * These models do not fit together (their runtime unloaded one of them to load another):
   * from now on a load that would complete the set evicts one of them first, so their
   * requests are grouped instead of swapped by the runtime per request.
   */
  learnConflict(models: readonly string[]): void {
    models.forEach((m) => this.#entry(m));
    this.#event(() => {
      if (!this.#conflicts.learn(models)) return SETTLED;
    });
  }

  /** Forgets the conflicts naming any of `models` (their runtime restarted, a model was deleted). */
  forgetConflicts(models: readonly string[]): void {
    this.#event(() => this.#conflicts.forget(models));
  }

  /**
   * The runtime holds `model` though no load of ours made it so (another client loaded it,
   * or a load finished after its last waiter left): it joins the ledger as ready, at what
   * the runtime reports. Ignored unless the model is unloaded here.
   */
  adopt(model: string, measuredBytes: MeasuredBytes): void {
    this.#event(() => {
      const entry = this.#entry(model);
      if (entry.state === 'unloaded') this.#lifecycle.adopt(entry, measuredBytes);
    });
  }

  /**
   * A request wants `model` resident and a slot; answered later by exactly one grant or
   * reject. A model served by several hosts is placed on one copy (the grant names it);
   * `avoid` names copies that must not take it (their host failed this request already).
   */
  request(req: { id: string; model: string; avoid?: readonly string[] }): void {
    this.#event(() => {
      if (this.#requests.has(req.id)) throw new Error(`request id ${req.id} is already queued or granted`);
      const avoid = req.avoid?.length ? new Set(req.avoid) : undefined;
      const entry = this.#models.get(req.model) ?? this.#place(req.model, avoid);
      if (!entry) {
        const message = this.#copies.has(req.model) ? `no host of ${req.model} can take the request: every backend serving it is down or failed it`
          : `model ${req.model} is not registered`;
        return this.#reject(req.id, { code: 'UNAVAILABLE', message });
      }
      if (entry.retired) return this.#reject(req.id, { code: 'UNAVAILABLE', message: entry.retired });
      const full = queueFull(entry, this.#models.values(), this.#config);
      if (full) return this.#reject(req.id, full);
      const fast = this.#servesAtOnce(entry);
      const waiter = { id: req.id, model: entry.info.name, seq: ++this.#seq, arrivedAt: this.#now(), prev: this.#lastWaiter, dropped: false, avoid };
      entry.queue.push(waiter);
      this.#lastWaiter = waiter;
      this.#requests.set(req.id, entry);
      if (!fast) return;
      this.#grant(entry);
      return SETTLED;
    });
  }

  /** The waiter went away: dequeued, or released like `serveDone` if it was granted. Unknown ids are ignored. */
  cancel(id: string): void {
    this.#event(() => {
      const entry = this.#requests.get(id);
      if (!entry) return;
      this.#requests.delete(id);
      this.#grantedAt.delete(id);
      if (entry.inFlight.delete(id)) return void (entry.lastUsedAt = this.#now());
      const [waiter] = entry.queue.splice(entry.queue.findIndex((w) => w.id === id), 1);
      drop(waiter);
      this.#afterDemandLoss(entry);
    });
  }

  /** A granted request finished with the model. */
  serveDone(id: string): void {
    this.#event(() => {
      const entry = this.#requests.get(id);
      if (!entry?.inFlight.delete(id)) return;
      this.#requests.delete(id);
      entry.lastUsedAt = this.#now();
      this.#timeServe(entry, id);
      if (!entry.unloadWanted && !entry.residency?.stale && !idleExpired(entry, this.#now()) && this.#quiet()) return SETTLED;
    });
  }

  /** The model is ready; a measurement replaces the estimate in the ledger. */
  loadDone(model: string, result: { measuredBytes?: MeasuredBytes } = {}): void {
    this.#event(() => {
      const entry = this.#entry(model);
      if (entry.state === 'loading') this.#lifecycle.ready(entry, result.measuredBytes);
    });
  }

  /** The load ended without a model (also how a cancelled load is confirmed): its memory is free. */
  loadFailed(model: string, message: string): void {
    this.#event(() => {
      const entry = this.#entry(model);
      if (entry.state !== 'loading') return;
      const cancelled = entry.residency?.cancelled;
      this.#lifecycle.release(entry);
      if (cancelled) return; // waiters queued since the cancel wait for a fresh load
      this.#counters.loadFailures++;
      // A copy's waiters try the model's other hosts first; only those left are refused.
      if (entry.info.copyOf) this.#placeElsewhere(entry, (w) => (w.avoid ??= new Set()).add(entry.info.name));
      const what = entry.info.copyOf ? `${entry.info.copyOf.model} on ${entry.info.copyOf.host}` : model;
      this.#failDemand(entry, 'LOAD_FAILED', `loading ${what} failed: ${message}`);
    });
  }

  /** The model's memory is released: after `startUnload`, or on its own (process exit, runtime eviction). */
  unloadDone(model: string): void {
    this.#event(() => {
      const entry = this.#entry(model);
      if (entry.state !== 'unloading' && entry.state !== 'ready') return;
      for (const id of entry.inFlight) {
        this.#requests.delete(id);
        this.#grantedAt.delete(id);
      }
      entry.inFlight.clear();
      this.#lifecycle.release(entry);
    });
  }

  /** The model is still resident: it stays counted, can serve, and is not evicted again for unloadTimeoutMs. */
  unloadFailed(model: string, message: string): void {
    this.#event(() => {
      const entry = this.#entry(model);
      if (entry.state === 'unloading') this.#lifecycle.keepResident(entry, `unloading ${model} failed: ${message}`);
    });
  }

  /** Time passed: load, cancel and unload deadlines; holds and keep-alives that ended are re-planned. */
  tick(): void {
    this.#event(() => {
      const now = this.#now();
      for (const entry of this.#models.values()) {
        if (entry.deadline === undefined || now < entry.deadline) continue;
        if (entry.state === 'unloading') this.#lifecycle.keepResident(entry, `unloading ${entry.info.name} timed out`);
        else if (entry.residency?.cancelled) this.#lifecycle.startUnload(entry); // the cancel never confirmed
        else this.#timeOutLoad(entry);
      }
    });
  }

  /** Load and keep resident without a waiter (preload); not cancelled when waiters leave. */
  adminLoad(model: string): void {
    this.#event(() => {
      const entry = this.#entry(model);
      entry.unloadWanted = false;
      if (entry.state !== 'ready') entry.adminLoad ??= { seq: ++this.#seq, at: this.#now() };
    });
  }

  /** Unload once nothing is queued or in flight; a load nobody else waits for is cancelled. */
  adminUnload(model: string): void {
    this.#event(() => {
      const entry = this.#entry(model);
      entry.adminLoad = undefined;
      entry.unloadWanted = entry.state === 'ready' || entry.state === 'loading';
      this.#afterDemandLoss(entry);
    });
  }

  /**
   * The model's load options changed (its context pin grew): a residency loaded or loading
   * with the old ones is stale. It grants nothing more, is unloaded once its requests in
   * flight finish, and its waiters load it again. Not resident: nothing to do.
   */
  reload(model: string): void {
    this.#event(() => {
      const r = this.#entry(model).residency;
      if (r) r.stale = true;
    });
  }

  /**
   * The host stopped answering (its circuit breaker opened): no request is placed on its
   * copies, and those queued for them are placed on another host where there is one
   * (else they stay, and fail or succeed with the host). Requests in flight are the shell's.
   */
  hostDown(host: string): void {
    this.#event(() => {
      if (this.#down.has(host)) return SETTLED;
      this.#down.add(host);
      for (const entry of this.#models.values()) if (entry.info.copyOf?.host === host) this.#placeElsewhere(entry);
    });
  }

  /** The host answers again (a probe passed): its copies are placed on again. */
  hostUp(host: string): void {
    this.#event(() => {
      if (!this.#down.delete(host)) return SETTLED;
    });
  }

  /** When the shell should call `tick` next, or undefined when no time-based decision is pending. */
  nextWakeAt(): number | undefined {
    let at = this.#planWakeAt ?? Infinity;
    for (const e of this.#models.values()) at = Math.min(at, e.deadline ?? Infinity, idleUntil(e) ?? Infinity);
    return at === Infinity ? undefined : at;
  }

  snapshot(): SchedulerSnapshot {
    return snapshotOf({
      now: this.#now(), policy: this.#config.policy, models: [...this.#models.values()],
      budgetedPools: this.#budgets.keys(), budget: (pool) => this.#budget(pool), counters: this.#counters, conflicts: this.#conflicts.list(),
    });
  }

  #event(apply: () => void | typeof SETTLED): void {
    if (this.#inEvent) throw new Error('Scheduler events must not be fed back from inside an effect; queue them');
    this.#inEvent = true;
    try {
      if (apply() !== SETTLED) {
        this.#pump();
        this.#forgetRetired();
      }
    } finally {
      this.#inEvent = false;
    }
  }

  /**
   * Nothing waits and no admin load is pending, anywhere: a plan could only repeat the
   * last one (which ran after the event that left things so), and nothing is there to grant.
   */
  #quiet(): boolean {
    for (const e of this.#models.values()) if (e.queue.length > 0 || e.adminLoad) return false;
    return true;
  }

  /**
   * The fast path of the busy steady state: a request for a ready model with a free slot,
   * in a quiet scheduler, is granted at once — exactly what planning and granting would do.
   */
  #servesAtOnce(entry: ScheduledModel): boolean {
    return serving(entry) && entry.inFlight.size < entry.info.maxParallel && !entry.unloadWanted
      && !this.#draining.has(entry) && this.#quiet();
  }

  /** A retired model whose memory is released (nothing queued or in flight by then) is gone, and so are its conflicts. */
  #forgetRetired(): void {
    for (const [name, entry] of this.#models) {
      if (!entry.retired || entry.state !== 'unloaded' || entry.inFlight.size > 0) continue;
      this.#models.delete(name);
      this.#copies.remove(entry);
      this.#conflicts.forget([name]);
    }
  }

  /**
   * Plans, then grants, until neither changes anything. Planning first lets a hold that
   * ended (time passed) take effect before a freed slot is handed out again.
   */
  #pump(): void {
    for (let changed = true; changed;) {
      changed = this.#applyPlan();
      changed = this.#grantAll() || changed;
    }
  }

  #applyPlan(): boolean {
    const p = plan({
      models: [...this.#models.values()], budget: (pool) => this.#budget(pool), conflicts: this.#conflicts, config: this.#config, now: this.#now(),
    });
    for (const entry of p.unfit) {
      this.#failDemand(entry, 'DOES_NOT_FIT', `${entry.info.name} does not fit in the memory budget, even with every unpinned model unloaded`);
    }
    for (const entry of p.unloads) {
      this.#counters.unloads++;
      this.#lifecycle.startUnload(entry);
    }
    for (const entry of p.evictions) {
      this.#counters.evictions++;
      this.#lifecycle.startUnload(entry);
    }
    for (const decision of p.loads) this.#lifecycle.startLoad(decision);
    for (const entry of p.reserve) entry.reserved = true;
    const drainingChanged = p.draining.size !== this.#draining.size || [...p.draining].some((e) => !this.#draining.has(e));
    this.#draining = p.draining;
    this.#planWakeAt = p.wakeAt;
    return drainingChanged || p.unfit.length + p.unloads.length + p.evictions.length + p.loads.length > 0;
  }

  #grantAll(): boolean {
    const before = this.#counters.grants;
    const next = () => nextToGrant(this.#models.values(), this.#config.policy, this.#draining);
    for (let entry = next(); entry; entry = next()) this.#grant(entry);
    return this.#counters.grants > before;
  }

  #grant(entry: ScheduledModel): void {
    const waiter = entry.queue.shift();
    const r = entry.residency;
    if (!waiter || !r) return;
    if (avoidsReload(waiter, r, this.#models, { budget: (pool) => this.#budget(pool), conflicts: this.#conflicts })) this.#counters.reloadsAvoided++;
    waiter.prev = undefined;
    r.grants++;
    this.#counters.grants++;
    entry.inFlight.add(waiter.id);
    if (entry.info.copyOf) this.#grantedAt.set(waiter.id, this.#now());
    entry.lastUsedAt = this.#now();
    this.#effects.grant(waiter.id, entry.info.name, grantInfo(waiter, r, this.#now()));
  }

  #place(model: string, avoid: ReadonlySet<string> | undefined): ScheduledModel | undefined {
    return this.#copies.place(model, avoid, {
      models: [...this.#models.values()], budget: (pool) => this.#budget(pool), conflicts: this.#conflicts,
      config: this.#config, now: this.#now(), draining: this.#draining, down: this.#down,
    });
  }

  /**
   * Moves the copy's queued waiters to the copy placement picks for each now (after
   * `mark`), keeping their place in arrival order; those it places here again stay.
   */
  #placeElsewhere(entry: ScheduledModel, mark: (w: Waiter) => void = () => {}): void {
    const model = entry.info.copyOf!.model;
    for (const waiter of [...entry.queue]) {
      mark(waiter);
      const to = this.#place(model, waiter.avoid);
      if (!to || to === entry) continue;
      entry.queue.splice(entry.queue.indexOf(waiter), 1);
      const at = to.queue.findIndex((w) => w.seq > waiter.seq);
      to.queue.splice(at < 0 ? to.queue.length : at, 0, waiter);
      waiter.model = to.info.name;
      this.#requests.set(waiter.id, to);
    }
    this.#afterDemandLoss(entry);
  }

  /** A copy's serve time, for placement's wait estimate: a moving average over its last requests. */
  #timeServe(entry: ScheduledModel, id: string): void {
    const at = this.#grantedAt.get(id);
    if (at === undefined) return;
    this.#grantedAt.delete(id);
    entry.serveMs = nextServeMs(entry.serveMs, this.#now() - at);
  }

  #timeOutLoad(entry: ScheduledModel): void {
    this.#counters.loadTimeouts++;
    const seconds = Math.round(this.#config.loadTimeoutMs / 1000);
    this.#failDemand(entry, 'LOAD_TIMEOUT', `loading ${entry.info.name} took longer than ${seconds}s`);
  }

  /** Nobody waits for this model any more: drop its turn, cancel a load in progress. */
  #afterDemandLoss(entry: ScheduledModel): void {
    if (demandOf(entry)) return;
    entry.reserved = false;
    this.#lifecycle.cancelLoad(entry);
  }

  /** Rejects every waiter and drops an admin load, remembering why. */
  #failDemand(entry: ScheduledModel, code: RejectCode, message: string): void {
    entry.lastError = message;
    entry.adminLoad = undefined;
    for (const waiter of entry.queue.splice(0)) {
      drop(waiter);
      this.#requests.delete(waiter.id);
      this.#reject(waiter.id, { code, message });
    }
    this.#afterDemandLoss(entry);
  }

  #reject(id: string, rejection: Rejection): void {
    this.#counters.rejections++;
    this.#effects.reject(id, rejection);
  }

  #budget(pool: PoolName): number {
    return this.#budgets.get(pool) ?? 0;
  }

  #entry(model: string): ScheduledModel {
    const entry = this.#models.get(model);
    if (!entry) throw new Error(`unknown model ${model}: register it first`);
    return entry;
  }

  #now(): number {
    return this.#clock.now();
  }
}

function drop(waiter: Waiter): void {
  waiter.dropped = true;
  waiter.prev = undefined;
}
