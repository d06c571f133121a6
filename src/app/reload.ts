import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ReloadReport } from '../gateway/admin.js';
import type { Gateway } from '../gateway/gateway.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { Pins } from '../models/pins.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ScheduledResidency } from '../residency/scheduled-residency.js';

/**
 * Settings read once at start, by parts a reload does not rebuild (the listening socket,
 * the upstream pools, the backends and their processes, the scheduler, the batcher, the
 * logger). A reload that changes one keeps its running value and says it needs a restart.
 */
export const RESTART_ONLY = [
  'server.host', 'server.port', 'server.first_byte_timeout_s', 'server.upstream_idle_timeout_s', 'server.records_kept',
  'log', 'backends', 'models_dir', 'data_dir', 'memory', 'scheduler', 'batching',
] as const;

export interface ReloaderParts {
  config: Config;
  /** Reads the config again as start-up did (file, env, flags); throws ConfigError with start-up's messages. */
  reread: () => Config;
  gateway: Gateway;
  registry: ModelRegistry;
  residency: ScheduledResidency;
  pins: Pins;
  log: Logger;
}

/**
 * Config reload (SIGHUP, `POST /warmgate/reload`): re-read, refuse as start-up would (the
 * running config stays), else apply. Models are reconfigured (the registry sorts them into
 * added, removed, changed, updated, kept; the residency retires and renews), then the
 * gateway and the HTTP checks (origins, keys, limits) read the new config on the next
 * request. One reload at a time; a second waits for the first.
 */
export class ConfigReloader {
  readonly #parts: ReloaderParts;
  #current: Config;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners: Array<(config: Config) => void> = [];

  constructor(parts: ReloaderParts) {
    this.#parts = parts;
    this.#current = parts.config;
  }

  /** The config in force. */
  get current(): Config {
    return this.#current;
  }

  /** Called with each config a reload applied (the server rebuilds its HTTP checks from it). */
  onApplied(listener: (config: Config) => void): void {
    this.#listeners.push(listener);
  }

  reload(): Promise<ReloadReport> {
    const run = this.#queue.then(() => this.#apply());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(): Promise<ReloadReport> {
    const { registry, residency, pins, gateway, log } = this.#parts;
    const read = this.#parts.reread();
    const restartNeeded = RESTART_ONLY.filter((key) => JSON.stringify(valueAt(read, key)) !== JSON.stringify(valueAt(this.#current, key)));
    const next = keepRunning(read, this.#current);
    const changes = registry.reconfigure(next); // throws ConfigError before changing anything
    for (const entry of [...changes.removed, ...changes.changed]) pins.forget(entry.name);
    this.#current = next;
    gateway.reconfigure(next);
    for (const listener of this.#listeners) listener(next);
    await residency.reconfigure(changes);
    preload(residency, [...changes.added, ...changes.changed], log);
    const names = (list: Array<{ name: string }>) => list.map((e) => e.name);
    const report: ReloadReport = {
      added: names(changes.added), removed: names(changes.removed), changed: names(changes.changed),
      updated: names(changes.updated), kept: names(changes.kept), restart_needed: restartNeeded,
    };
    // A setting that waits for a restart is worth an operator's attention.
    log[restartNeeded.length ? 'warn' : 'info'](report, 'config reloaded');
    return report;
  }
}

/** Models with `preload: true` load in the background: a failure is logged, not fatal. */
export function preload(residency: ScheduledResidency, entries: readonly ModelEntry[], log: Logger): void {
  for (const entry of entries.filter((e) => e.config.preload)) {
    residency.load(entry).then(
      () => log.info({ model: entry.name }, 'preloaded'),
      (err: Error) => log.error({ model: entry.name, err: err.message }, 'preload failed'),
    );
  }
}

/** `read`, with every restart-only setting as it runs now. */
function keepRunning(read: Config, running: Config): Config {
  return {
    ...read,
    server: { ...read.server, host: running.server.host, port: running.server.port, first_byte_timeout_s: running.server.first_byte_timeout_s, upstream_idle_timeout_s: running.server.upstream_idle_timeout_s, records_kept: running.server.records_kept },
    log: running.log, backends: running.backends, models_dir: running.models_dir, data_dir: running.data_dir,
    memory: running.memory, scheduler: running.scheduler, batching: running.batching,
  };
}

function valueAt(config: Config, key: string): unknown {
  return key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], config);
}

/** The one line an operator reads after a reload (stderr, and the SIGHUP log line). */
export function describeReload(r: ReloadReport): string {
  const part = (label: string, names: string[]) => (names.length ? `${label} ${names.join(', ')}` : undefined);
  const models = [part('added', r.added), part('removed', r.removed), part('changed (reloaded once idle)', r.changed), part('updated', r.updated), part('kept', r.kept)]
    .filter(Boolean).join('; ') || 'no models';
  const restart = r.restart_needed.length ? `; these settings take effect only after a restart: ${r.restart_needed.join(', ')}` : '';
  return `config reloaded: ${models}${restart}`;
}
