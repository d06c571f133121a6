import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import { OllamaBackend } from '../backends/ollama/ollama-backend.js';
import type { Config } from '../config/schema.js';
import { Pins } from '../models/pins.js';
import { ModelRegistry } from '../models/registry.js';
import { DirectResidency } from '../residency/direct-residency.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { EmbedService } from './embed-service.js';
import { Gateway } from './gateway.js';

/** Builds every part of the gateway from a validated config. No I/O happens here. */
export function assembleGateway(config: Config, log: Logger): Gateway {
  const pins = new Pins();
  const firstByteTimeoutMs = config.server.first_byte_timeout_s * 1000;
  const backends = new Map<string, Backend>();
  for (const [name, b] of Object.entries(config.backends)) {
    if (b.kind === 'ollama') backends.set(name, new OllamaBackend(name, { url: b.url, pins, firstByteTimeoutMs }));
  }
  const registry = new ModelRegistry(config, backends);
  const residency = new DirectResidency();
  const telemetry = new Telemetry(log, config.server.records_kept);
  return new Gateway({ config, log, backends, registry, pins, residency, telemetry, embeddings: new EmbedService(residency) });
}
