import { answering, type HostStatus } from '../backends/backend.js';
import { hostsOf, type ModelEntry } from '../models/model-entry.js';
import { nextServeMs, place, waitForSlotMs, type CopyView } from '../scheduler/index.js';

/** A host that reports its own residency (a remote Warmgate): what placing on it reads. */
export interface ReportingHost {
  readonly name: string;
  hostStatus(): Promise<HostStatus>;
}

/** A report older than this is read again, in the background: placement never waits for a host to answer. */
const FRESH_MS = 500;

interface Report {
  at: number;
  status: HostStatus | undefined;
  reading: boolean;
}

/**
 * Placement over hosts this gateway does not schedule (remote Warmgates, each keeping its
 * own models resident): the same ranking as the scheduler's (placement.ts), read from what
 * each host last reported of itself (its models' state, queues and slots, its free memory)
 * plus the requests this gateway has sent it since. The front starts no loads: a host where
 * the model is cold loads it when the request arrives, so a new copy is "started" by
 * sending a request there.
 */
export class RemotePlacement {
  readonly #hosts: ReadonlyMap<string, ReportingHost>;
  readonly #maxHoldMs: number;
  readonly #reports = new Map<string, Report>();
  /** Requests this gateway has on each host entry now, and how long one takes there. */
  readonly #inFlight = new Map<ModelEntry, number>();
  readonly #serveMs = new Map<ModelEntry, number>();

  constructor(hosts: Iterable<ReportingHost>, maxHoldMs: number) {
    this.#hosts = new Map([...hosts].map((h) => [h.name, h]));
    this.#maxHoldMs = maxHoldMs;
  }

  /**
   * The host entry `entry`'s request goes to, among `candidates` (its hosts that are up and
   * not avoided), and a function to call when the request is done there.
   */
  place(entry: ModelEntry, candidates: readonly ModelEntry[]): { host: ModelEntry; done: () => void } {
    const views = candidates.map((h) => this.#view(h));
    const host = place(views, { replicas: entry.config.replicas, maxHoldMs: this.#maxHoldMs }) ?? candidates[0] ?? hostsOf(entry)[0];
    this.#inFlight.set(host, (this.#inFlight.get(host) ?? 0) + 1);
    const t0 = performance.now();
    let ended = false;
    return {
      host,
      done: () => {
        if (ended) return;
        ended = true;
        this.#inFlight.set(host, (this.#inFlight.get(host) ?? 1) - 1);
        this.#serveMs.set(host, nextServeMs(this.#serveMs.get(host), performance.now() - t0));
      },
    };
  }

  #view(h: ModelEntry): CopyView<ModelEntry> {
    const status = this.#report(h.backend.name);
    const model = status?.models.find((m) => m.name === h.upstream || m.name === h.name);
    const mine = this.#inFlight.get(h) ?? 0;
    const inFlight = Math.max(model?.inFlight ?? 0, mine);
    const slots = model?.maxParallel ?? h.config.parallel;
    const queued = model?.queued ?? 0;
    // A server that does not report (an external llama-server) holds its one model always.
    const serving = this.#hosts.has(h.backend.name) ? model?.state === 'ready' : true;
    const loading = model?.state === 'loading';
    return {
      copy: h, up: answering(h.backend), serving, loading, inFlight, slots, queued,
      expectedWaitMs: waitForSlotMs({ queued, inFlight, slots }, this.#serveMs.get(h)),
      cold: () => {
        const free = status?.pools.reduce((sum, p) => sum + (p.budget === undefined ? Infinity : Math.max(0, p.budget - p.used)), 0) ?? Infinity;
        const held = status?.models.filter((m) => m.state !== 'unloaded').length ?? 0;
        return {
          // The footprint is known once the host has been asked for the model; unknown, it is taken to fit.
          evictions: free >= (model?.bytes ?? 0) ? 0 : 1,
          costMs: held, freeBytes: free, held,
          behindLoad: status?.models.some((m) => m.state === 'loading') ?? false,
        };
      },
    };
  }

  /** The host's last report; one older than FRESH_MS is read again meanwhile. */
  #report(name: string): HostStatus | undefined {
    const host = this.#hosts.get(name);
    if (!host) return undefined;
    const report = this.#reports.get(name) ?? { at: -Infinity, status: undefined, reading: false };
    this.#reports.set(name, report);
    if (!report.reading && performance.now() - report.at > FRESH_MS) {
      report.reading = true;
      host.hostStatus().then(
        (status) => Object.assign(report, { status, at: performance.now(), reading: false }),
        () => Object.assign(report, { status: undefined, at: performance.now(), reading: false }),
      );
    }
    return report.status;
  }
}
