import type { BreakerSettings } from '../upstream/circuit-breaker.js';
import type { UpstreamTimeouts } from '../upstream/upstream-pool.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { isManaged, type Backend, type BackendModel } from '../backends/backend.js';
import { ExternalLlamaServerBackend } from '../backends/external/external-llama-server.js';
import { OllamaBackend } from '../backends/ollama/ollama-backend.js';
import { EMBEDDED_COMMAND, llamaServerCommand } from '../backends/process/command-template.js';
import { ChildLedger, reapLeftovers } from '../backends/process/leftovers.js';
import { ProcessBackend } from '../backends/process/process-backend.js';
import { WarmgateBackend } from '../backends/warmgate/warmgate-backend.js';
import { defaultLlamaServerBinary, llamaServerHasAmx } from '../backends/process/llama-server-binary.js';
import { ConfigError } from '../config/load.js';
import type { BackendConfig, BreakerConfig, Config } from '../config/schema.js';
import { Admin, backendHealth } from '../gateway/admin.js';
import { Catalog } from '../gateway/catalog.js';
import { DaemonApi } from '../gateway/daemon-api.js';
import { EmbedService } from '../gateway/embed-service.js';
import { Gateway } from '../gateway/gateway.js';
import { runtimeBaselineBytes } from '../memory/measure.js';
import { runtimeKernels } from '../memory/runtime-kernels.js';
import { ensureDefaultModels, modelsFromDir } from '../models/local-models.js';
import type { ModelEntry } from '../models/model-entry.js';
import { Pins } from '../models/pins.js';
import { ModelRegistry } from '../models/registry.js';
import { detectBudgets, GPU_POOL } from '../residency/budgets.js';
import { ScheduledResidency } from '../residency/scheduled-residency.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { ConfigReloader } from './reload.js';

/** The backend `models_dir` and the embedded default put their models on. */
export const EMBEDDED = 'embedded';

/** Every part, for the server that runs them (and the tests and CLI that look inside). */
export interface Assembled {
  gateway: Gateway;
  backends: ReadonlyMap<string, Backend>;
  registry: ModelRegistry;
  residency: ScheduledResidency;
  telemetry: Telemetry;
  /** The embedding path; its cache holds a connection when it is Redis. */
  embeddings: EmbedService;
  reloader: ConfigReloader;
}

interface BackendDeps {
  pins: Pins;
  timeouts: UpstreamTimeouts;
  log: Logger;
  /** The models on a backend; asked when it lists them, after the registry exists. */
  models: (backend: Backend) => BackendModel[];
  daemons: OllamaBackend[];
  /** The remote Warmgates, whose status the front's status includes. */
  hosts: WarmgateBackend[];
  /** Where process backends record their children for the next gateway to reap. */
  ledger: ChildLedger;
}

/**
 * app/ is the composition: it builds every part from a validated config and wires them
 * (backends, registry, residency, telemetry, gateway) and serves the HTTP app. It may import
 * anything; nothing imports it but the CLI, tests and benches. With no backend and no
 * model configured it serves the embedded default: a small generated chat model and
 * embedding model (written once into `data_dir`) plus every GGUF in `./models`.
 */
export async function assembleGateway(config: Config, log: Logger, opts: { reread?: () => Config } = {}): Promise<Assembled> {
  let registry: ModelRegistry | undefined;
  // Workers a dead gateway left behind go before this one starts any.
  const runDir = join(config.data_dir, 'run');
  reapLeftovers(runDir, log);
  const deps: BackendDeps = {
    pins: new Pins(log.child({ part: 'pins' })), timeouts: { firstByteMs: config.server.first_byte_timeout_s * 1000, idleMs: config.server.upstream_idle_timeout_s * 1000 }, log, daemons: [], hosts: [], ledger: new ChildLedger(runDir),
    models: (backend) => registry?.known().filter((e) => e.backend === backend) ?? [],
  };
  const backends = new Map<string, Backend>();
  for (const [name, b] of Object.entries(config.backends)) backends.set(name, createBackend(name, b, deps));

  const local: ModelEntry[] = [];
  const embeddedDefault = Object.keys(config.backends).length === 0 && Object.keys(config.models).length === 0;
  const dirs = [config.models_dir, embeddedDefault ? './models' : undefined].filter((d): d is string => Boolean(d));
  if (embeddedDefault || dirs.length > 0) {
    if (!backends.has(EMBEDDED)) backends.set(EMBEDDED, createBackend(EMBEDDED, { kind: 'embedded', health_timeout_s: 300 }, deps));
    const embedded = backends.get(EMBEDDED)!;
    if (embeddedDefault) {
      const dir = await ensureDefaultModels(config.data_dir, (file) => log.info({ file }, 'generating a default model (once)'));
      // The default models are tiny: one thread serves them fastest and never fights the machine's other work.
      local.push(...(await modelsFromDir(dir, embedded, { threads: 1 })));
    }
    if (config.models_dir && !existsSync(config.models_dir)) log.warn({ models_dir: resolve(config.models_dir) }, 'models_dir does not exist: no local models from it');
    for (const dir of dirs) local.push(...(await modelsFromDir(resolve(dir), embedded)));
  }

  const served = new ModelRegistry(config, backends, local);
  registry = served;
  // The gateway host's pools, and each backend's own memory domain (an Ollama daemon's).
  const budgets = { ...(await detectBudgets(config.memory)), ...domainBudgets(backends) };
  const s = config.scheduler;
  const residency = new ScheduledResidency({
    log: log.child({ part: 'residency' }),
    budgets,
    gpuPool: GPU_POOL in budgets ? GPU_POOL : undefined,
    reconcileMs: s.reconcile_s * 1000,
    served: () => served.list(),
    reportingHosts: deps.hosts,
    config: {
      policy: s.policy, maxHoldMs: s.max_hold_ms, maxQueuePerModel: s.max_queue_per_model, maxQueueTotal: s.max_queue_total,
      loadTimeoutMs: s.load_timeout_s * 1000, unloadTimeoutMs: s.unload_timeout_s * 1000,
    },
  });
  for (const b of backends.values()) {
    b.breaker?.onChange((_from, to) => residency.hostHealth(b.name, to === 'closed'));
    if (!isManaged(b)) continue;
    b.onLost((model) => residency.lost(b, model));
    b.domain?.onForget((upstream) => residency.forget(b, upstream));
  }
  for (const b of backends.values()) logBreaker(b, log.child({ part: 'breaker', backend: b.name }));
  const telemetry = new Telemetry(log, config.server.records_kept);
  telemetry.metrics.watchMemory(() => residency.status());
  const embeddings = new EmbedService(residency, config.batching, log.child({ part: 'embeddings' }));
  telemetry.metrics.watchEmbeddingCache(() => embeddings.stats().cache);
  telemetry.metrics.watchBackends(() => backendHealth(backends.values()));
  let reloader: ConfigReloader | undefined;
  const gateway = new Gateway({
    config, registry, pins: deps.pins, residency, telemetry, embeddings,
    catalog: new Catalog(registry, residency, log),
    daemons: new DaemonApi(deps.daemons, registry),
    admin: new Admin({ registry, residency, telemetry, embeddings, backends, hosts: deps.hosts, reload: () => reloader!.reload() }),
  });
  reloader = new ConfigReloader({
    config, gateway, registry, residency, pins: deps.pins, log,
    reread: opts.reread ?? (() => {
      throw new ConfigError('this gateway was started without a config to read again');
    }),
  });
  return { gateway, backends, registry, residency, telemetry, embeddings, reloader };
}

function domainBudgets(backends: ReadonlyMap<string, Backend>): Record<string, number> {
  return Object.assign({}, ...[...backends.values()].map((b) => (isManaged(b) && b.domain ? b.domain.budgets : {})));
}

/** A backend taken out is a warning, one back in an info line; the probes between them are debug. */
function logBreaker(backend: Backend, log: Logger): void {
  const breaker = backend.breaker;
  breaker?.onChange((from, to) => {
    const { failures, nextProbeInMs } = breaker.status();
    if (from === 'closed') log.warn({ failures, next_probe_ms: nextProbeInMs }, 'backend stopped answering: requests to it fail at once until a probe reaches it');
    else if (to === 'closed') log.info('backend answers again: requests go to it');
    else log.debug({ state: to, next_probe_ms: nextProbeInMs }, 'backend breaker');
  });
}

function breakerSettings(b: BreakerConfig): BreakerSettings | undefined {
  return b === false ? undefined : { failures: b.failures, openMs: b.open_s * 1000, maxOpenMs: b.max_open_s * 1000 };
}

function createBackend(name: string, b: BackendConfig, deps: BackendDeps): Backend {
  const { timeouts, log } = deps;
  switch (b.kind) {
    case 'ollama': {
      const daemon = new OllamaBackend(name, {
        url: b.url, timeouts, headers: b.headers, memory: b.memory, breaker: breakerSettings(b.breaker),
        pins: (model) => ({ options: deps.pins.loadOptions(model), keep_alive: deps.pins.keepAlive(model, undefined).keep_alive }),
      });
      deps.daemons.push(daemon);
      return daemon;
    }
    case 'warmgate': {
      const host = new WarmgateBackend(name, { url: b.url, apiKey: b.api_key, timeouts, breaker: breakerSettings(b.breaker) });
      deps.hosts.push(host);
      return host;
    }
    case 'embedded': {
      // The worker's own RSS is part of every estimate: measure it now, not on the first request.
      runtimeBaselineBytes().catch((err: Error) => log.warn({ err: err.message }, 'cannot measure the worker runtime baseline'));
      const backend: ProcessBackend = new ProcessBackend(name, {
        kind: 'embedded', command: EMBEDDED_COMMAND, healthTimeoutMs: b.health_timeout_s * 1000, timeouts, log,
        kernels: runtimeKernels('embedded'), models: () => deps.models(backend), ledger: deps.ledger,
      });
      return backend;
    }
    case 'llama-server': {
      if (b.url) {
        const external: ExternalLlamaServerBackend = new ExternalLlamaServerBackend(name, {
          url: b.url, timeouts, models: () => deps.models(external), breaker: breakerSettings(b.breaker),
        });
        return external;
      }
      const backend: ProcessBackend = new ProcessBackend(name, {
        kind: 'llama-server', command: b.command ?? llamaServerCommand(defaultLlamaServerBinary()), healthTimeoutMs: b.health_timeout_s * 1000, timeouts, log,
        // A binary of the user's own is assumed native (AMX kernels where the CPU has them): the larger estimate.
        kernels: runtimeKernels('llama-server', { llamaServerAmx: b.command !== undefined || llamaServerHasAmx() }),
        models: () => deps.models(backend), ledger: deps.ledger,
      });
      return backend;
    }
  }
}
