import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway/gateway.js';
import { createApp } from '../http/app.js';
import { Drain, shuttingDown } from '../http/drain.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ScheduledResidency } from '../residency/scheduled-residency.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { assembleGateway } from './assemble.js';

export interface RunningGateway {
  gateway: Gateway;
  /** The parts, for the CLI's banner, tests and benches to look inside (never the request path). */
  backends: ReadonlyMap<string, Backend>;
  registry: ModelRegistry;
  residency: ScheduledResidency;
  telemetry: Telemetry;
  url: string;
  port: number;
  /**
   * Stops: new requests and those still queued for a model get 503 with Retry-After; those
   * being served get up to `drainMs` (default 0) to finish, then end with an error in their
   * dialect; then the workers stop.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/** Assembles the gateway and listens (port 0 picks a free one). `close` stops listening and releases backends. */
export async function startGateway(config: Config, log: Logger): Promise<RunningGateway> {
  const { gateway, backends, registry, residency, telemetry, embeddings } = await assembleGateway(config, log);
  const drain = new Drain();
  const app = createApp(gateway, log, drain);
  const release = async () => {
    await residency.close();
    await Promise.all([...backends.values()].map((b) => b.close()));
    await embeddings.close();
  };
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: config.server.host, port: config.server.port }, () => resolve(s));
    s.once('error', reject);
  }).catch(async (err: unknown) => {
    await release(); // a port in use must not leave the parts running
    throw err;
  });
  // Generations can stream for many minutes: no server-side request timeout.
  if ('requestTimeout' in server) server.requestTimeout = 0;
  // Models with `preload: true` load at start, in the background: a failure is logged, not fatal.
  for (const entry of registry.known().filter((e) => e.config.preload)) {
    residency.load(entry).then(
      () => log.info({ model: entry.name }, 'preloaded'),
      (err: Error) => log.error({ model: entry.name, err: err.message }, 'preload failed'),
    );
  }
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    gateway,
    backends,
    registry,
    residency,
    telemetry,
    url: `http://${host}:${port}`,
    port,
    async close({ drainMs = 0 } = {}) {
      drain.begin();
      residency.refuseQueued(shuttingDown());
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await drain.settled(drainMs);
      if ('closeAllConnections' in server) server.closeAllConnections();
      await closed;
      await release();
    },
  };
}
