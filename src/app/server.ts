import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway/gateway.js';
import { createApp } from '../http/app.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ScheduledResidency } from '../residency/scheduled-residency.js';
import { assembleGateway } from './assemble.js';

export interface RunningGateway {
  gateway: Gateway;
  /** The parts, for the CLI's banner, tests and benches to look inside (never the request path). */
  backends: ReadonlyMap<string, Backend>;
  registry: ModelRegistry;
  residency: ScheduledResidency;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Assembles the gateway and listens (port 0 picks a free one). `close` stops listening and releases backends. */
export async function startGateway(config: Config, log: Logger): Promise<RunningGateway> {
  const { gateway, backends, registry, residency } = await assembleGateway(config, log);
  const app = createApp(gateway, log);
  const release = async () => {
    await residency.close();
    await Promise.all([...backends.values()].map((b) => b.close()));
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
    url: `http://${host}:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      await release();
    },
  };
}
