import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import { ExternalLlamaServerBackend } from '../backends/external/external-llama-server.js';
import { OllamaBackend } from '../backends/ollama/ollama-backend.js';
import { EMBEDDED_COMMAND, llamaServerCommand } from '../backends/process/command-template.js';
import { ProcessBackend } from '../backends/process/process-backend.js';
import { defaultLlamaServerBinary, llamaServerManifest } from '../backends/process/llama-server-binary.js';
import { ChildLedger, reapLeftovers } from '../backends/process/leftovers.js';
import { runtimeKernels } from '../memory/runtime-kernels.js';
import type { BackendConfig, Config } from '../config/schema.js';
import { runtimeBaselineBytes } from '../memory/measure.js';
import { ensureDefaultModels, modelsFromDir } from '../models/local-models.js';
import type { ModelEntry } from '../models/model-entry.js';
import { Pins } from '../models/pins.js';
import { ModelRegistry } from '../models/registry.js';
import { detectBudgets, estimateEntry, GPU_POOL } from '../residency/footprints.js';
import { ScheduledResidency } from '../residency/scheduled-residency.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { EmbedService } from './embed-service.js';
import { Gateway } from './gateway.js';

/** The backend `models_dir` and the embedded default put their models on. */
export const EMBEDDED = 'embedded';

/**
 * Builds every part of the gateway from a validated config. With no backend and no model
 * configured it serves the embedded default: a small generated chat model and embedding
 * model (written once into `data_dir`) plus every GGUF in `./models`.
 */
export async function assembleGateway(config: Config, log: Logger): Promise<Gateway> {
  const pins = new Pins();
  const firstByteTimeoutMs = config.server.first_byte_timeout_s * 1000;
  // Workers a dead gateway left behind go before this one starts any.
  const runDir = join(config.data_dir, 'run');
  reapLeftovers(runDir, log);
  const ledger = new ChildLedger(runDir);
  const backends = new Map<string, Backend>();
  for (const [name, b] of Object.entries(config.backends)) backends.set(name, createBackend(name, b, { pins, firstByteTimeoutMs, log, ledger }));

  const local: ModelEntry[] = [];
  const embeddedDefault = Object.keys(config.backends).length === 0 && Object.keys(config.models).length === 0;
  const dirs = [config.models_dir, embeddedDefault ? './models' : undefined].filter((d): d is string => Boolean(d));
  if (embeddedDefault || dirs.length > 0) {
    if (!backends.has(EMBEDDED)) backends.set(EMBEDDED, createBackend(EMBEDDED, { kind: 'embedded', health_timeout_s: 300 }, { pins, firstByteTimeoutMs, log, ledger }));
    const embedded = backends.get(EMBEDDED)!;
    if (embeddedDefault) {
      const dir = await ensureDefaultModels(config.data_dir, (file) => log.info({ file }, 'generating a default model (once)'));
      // The default models are tiny: one thread serves them fastest and never fights the machine's other work.
      local.push(...(await modelsFromDir(dir, embedded, { threads: 1 })));
    }
    if (config.models_dir && !existsSync(config.models_dir)) log.warn({ models_dir: resolve(config.models_dir) }, 'models_dir does not exist: no local models from it');
    for (const dir of dirs) local.push(...(await modelsFromDir(resolve(dir), embedded)));
  }

  // The embedded worker's own RSS is part of every estimate: measure it now, not on the first request.
  if ([...backends.values()].some((b) => b.kind === 'embedded')) {
    runtimeBaselineBytes().catch((err: Error) => log.warn({ err: err.message }, 'cannot measure the worker runtime baseline'));
  }
  const registry = new ModelRegistry(config, backends, local);
  for (const b of backends.values()) {
    if (b instanceof ProcessBackend || b instanceof ExternalLlamaServerBackend) b.attach(() => registry.known().filter((e) => e.backend === b));
  }
  const budgets = await detectBudgets(config.memory);
  const s = config.scheduler;
  const residency = new ScheduledResidency({
    log: log.child({ part: 'residency' }),
    budgets,
    estimate: (entry) => estimateEntry(entry, GPU_POOL in budgets),
    reconcileMs: s.reconcile_s * 1000,
    config: {
      policy: s.policy, maxHoldMs: s.max_hold_ms, maxQueuePerModel: s.max_queue_per_model, maxQueueTotal: s.max_queue_total,
      loadTimeoutMs: s.load_timeout_s * 1000, unloadTimeoutMs: s.unload_timeout_s * 1000,
    },
  });
  for (const b of backends.values()) if (b instanceof ProcessBackend) b.onCrash((model) => residency.lost(model));
  const telemetry = new Telemetry(log, config.server.records_kept);
  telemetry.metrics.watchMemory(() => residency.status());
  const embeddings = new EmbedService(residency, config.batching);
  return new Gateway({ config, log, backends, registry, pins, residency, telemetry, embeddings });
}

function createBackend(name: string, b: BackendConfig, deps: { pins: Pins; firstByteTimeoutMs: number; log: Logger; ledger: ChildLedger }): Backend {
  switch (b.kind) {
    case 'ollama':
      return new OllamaBackend(name, { url: b.url, pins: deps.pins, firstByteTimeoutMs: deps.firstByteTimeoutMs });
    case 'embedded':
      return new ProcessBackend(name, {
        kind: 'embedded', command: EMBEDDED_COMMAND, healthTimeoutMs: b.health_timeout_s * 1000, firstByteTimeoutMs: deps.firstByteTimeoutMs, log: deps.log,
        kernels: runtimeKernels('embedded'), ledger: deps.ledger,
      });
    case 'llama-server':
      if (b.url) return new ExternalLlamaServerBackend(name, { url: b.url, firstByteTimeoutMs: deps.firstByteTimeoutMs });
      return new ProcessBackend(name, {
        kind: 'llama-server', command: b.command ?? llamaServerCommand(defaultLlamaServerBinary()), healthTimeoutMs: b.health_timeout_s * 1000, firstByteTimeoutMs: deps.firstByteTimeoutMs, log: deps.log,
        // A binary of the user's own is assumed native (AMX kernels where the CPU has them): the larger estimate.
        kernels: runtimeKernels('llama-server', { llamaServerAmx: b.command !== undefined || llamaServerManifest()?.flavour !== 'portable' }), ledger: deps.ledger,
      });
  }
}
