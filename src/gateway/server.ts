import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createApp } from '../http/app.js';
import { assembleGateway } from './assemble.js';
import type { Gateway } from './gateway.js';

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Assembles the gateway and listens (port 0 picks a free one). `close` stops listening and releases backends. */
export async function startGateway(config: Config, log: Logger): Promise<RunningGateway> {
  const gateway = await assembleGateway(config, log);
  const app = createApp(gateway);
  const release = async () => {
    await gateway.parts.residency.close();
    await Promise.all([...gateway.parts.backends.values()].map((b) => b.close()));
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
  preload(gateway, log);
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    gateway,
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

/** Models with `preload: true` are loaded at start, in the background: a failure is logged, not fatal. */
function preload(gateway: Gateway, log: Logger): void {
  for (const entry of gateway.parts.registry.known().filter((e) => e.config.preload)) {
    gateway.parts.residency.load(entry).then(
      () => log.info({ model: entry.name }, 'preloaded'),
      (err: Error) => log.error({ model: entry.name, err: err.message }, 'preload failed'),
    );
  }
}
