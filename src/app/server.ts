import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/schema.js';
import type { ReloadReport } from '../gateway/admin.js';
import type { Gateway } from '../gateway/gateway.js';
import { createApp } from '../http/app.js';
import { shuttingDown } from '../errors.js';
import { Drain } from '../http/drain.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ScheduledResidency } from '../residency/scheduled-residency.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { assembleGateway } from './assemble.js';
import { preload } from './reload.js';

export interface RunningGateway {
  gateway: Gateway;
  /** The parts, for the CLI's banner, tests and benches to look inside (never the request path). */
  backends: ReadonlyMap<string, Backend>;
  registry: ModelRegistry;
  residency: ScheduledResidency;
  telemetry: Telemetry;
  /** Re-reads and applies the config (SIGHUP); throws ConfigError and keeps the running one if it is refused. */
  reload(): Promise<ReloadReport>;
  /** The config in force (the last reload's). */
  config(): Config;
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
export async function startGateway(config: Config, log: Logger, opts: { reread?: () => Config } = {}): Promise<RunningGateway> {
  const { gateway, backends, registry, residency, telemetry, embeddings, reloader } = await assembleGateway(config, log, opts);
  const drain = new Drain();
  // A reload builds the app again, so the checks and limits it reads once (origins, keys,
  // body limits) are the new config's; requests already in flight finish on the old one.
  let app = createApp(gateway, log, drain);
  reloader.onApplied(() => (app = createApp(gateway, log, drain)));
  const release = async () => {
    await residency.close();
    await Promise.all([...backends.values()].map((b) => b.close()));
    await embeddings.close();
  };
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: (req, env) => app.fetch(req, env), hostname: config.server.host, port: config.server.port }, () => resolve(s));
    s.once('error', reject);
  }).catch(async (err: unknown) => {
    await release(); // a port in use must not leave the parts running
    throw err;
  });
  // Generations can stream for many minutes: no server-side request timeout.
  if ('requestTimeout' in server) server.requestTimeout = 0;
  preload(residency, registry.known(), log);
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    gateway,
    backends,
    registry,
    residency,
    telemetry,
    reload: () => reloader.reload(),
    config: () => reloader.current,
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
