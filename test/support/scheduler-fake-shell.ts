import type { MeasuredBytes } from '../../src/scheduler/types.js';
import type { Harness } from './scheduler-harness.js';

/**
 * A discrete-event stand-in for the residency shell, on simulated time: it carries out the
 * scheduler's effects after delays chosen by a behaviour, feeds the outcomes back as
 * events, and calls `tick` at `nextWakeAt` like the shell's single timer. No real timers.
 */

export interface ShellBehaviour {
  load(model: string, gpuLayers: number | undefined): { ms: number; fails: boolean; measured?: MeasuredBytes };
  /** How long an aborted load takes to let go of its memory. */
  cancelMs(model: string): number;
  unload(model: string): { ms: number; fails: boolean };
  serveMs(requestId: string): number;
}

interface Pending {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

export class FakeShell {
  readonly #h: Harness;
  readonly #behaviour: ShellBehaviour;
  readonly #pending: Pending[] = [];
  /** Per model, the one backend operation whose outcome still counts, and when it lands. */
  readonly #ops = new Map<string, { token: number; at: number }>();
  #order = 0;
  #read = 0;
  #armedWake: number | undefined;

  constructor(h: Harness, behaviour: ShellBehaviour) {
    this.#h = h;
    this.#behaviour = behaviour;
  }

  /** Schedules something at simulated time `at` (a client arriving or leaving). */
  at(at: number, run: () => void): void {
    this.#pending.push({ at, order: this.#order++, run });
  }

  /** Runs until nothing is left to happen; throws if the scheduler asks for a wake-up it never settles. */
  run(maxEvents = 100_000): void {
    for (let n = 0; this.#pending.length; n++) {
      if (n > maxEvents) throw new Error('simulation did not settle');
      this.#pending.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.#pending.shift();
      if (!next) return;
      this.#h.clock.set(Math.max(next.at, this.#h.clock.now()));
      next.run();
      this.#carryOut();
      this.#rearm();
    }
  }

  #carryOut(): void {
    const { s, fx } = this.#h;
    const now = this.#h.clock.now();
    for (const call of fx.log.slice(this.#read)) {
      if (call.effect === 'startLoad') {
        const load = this.#behaviour.load(call.model, call.options.gpuLayers);
        this.#op(call.model, now + load.ms, () =>
          load.fails ? s.loadFailed(call.model, 'simulated failure') : s.loadDone(call.model, { measuredBytes: load.measured }));
      } else if (call.effect === 'cancelLoad') {
        const at = now + this.#behaviour.cancelMs(call.model);
        // A load that lands before the abort would wins the race and reports its own outcome.
        if ((this.#ops.get(call.model)?.at ?? Infinity) > at) this.#op(call.model, at, () => s.loadFailed(call.model, 'cancelled'));
      } else if (call.effect === 'startUnload') {
        const unload = this.#behaviour.unload(call.model);
        this.#op(call.model, now + unload.ms, () => (unload.fails ? s.unloadFailed(call.model, 'simulated failure') : s.unloadDone(call.model)));
      } else if (call.effect === 'grant') {
        this.at(now + this.#behaviour.serveMs(call.id), () => s.serveDone(call.id));
      }
    }
    this.#read = fx.log.length;
  }

  /** A new operation on a model supersedes the previous one: its late outcome is never reported. */
  #op(model: string, at: number, report: () => void): void {
    const token = this.#order;
    this.#ops.set(model, { token, at });
    this.at(at, () => {
      if (this.#ops.get(model)?.token !== token) return;
      this.#ops.delete(model);
      report();
    });
  }

  /** One timer, re-armed after every event; a tick must settle everything that was due. */
  #rearm(): void {
    const { s, clock } = this.#h;
    const wake = s.nextWakeAt();
    if (wake === this.#armedWake) return;
    this.#armedWake = wake;
    if (wake === undefined) return;
    this.at(wake, () => {
      if (this.#armedWake !== wake) return;
      this.#armedWake = undefined;
      s.tick();
      const after = s.nextWakeAt();
      if (after !== undefined && after <= clock.now()) throw new Error(`tick left nextWakeAt ${after} at or before now ${clock.now()}`);
    });
  }
}
