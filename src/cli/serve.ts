import { ConfigError, loadConfig, parseServeFlags } from '../config/load.js';
import { startGateway } from '../app/server.js';
import { isManaged } from '../backends/backend.js';
import type { Config } from '../config/schema.js';
import { isLoopbackListen } from '../http/security/local-address.js';
import { createLogger } from '../telemetry/logger.js';

/** `warmgate serve [--config FILE] [--ollama URL] [--port N] [--host H]`: runs until SIGINT/SIGTERM. */
export async function serveCommand(argv: string[]): Promise<number> {
  let config;
  try {
    config = loadConfig(parseServeFlags(argv));
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`warmgate: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  const running = await startGateway(config, log);
  const models = await running.registry.list().catch(() => running.registry.known());
  const lines = await Promise.all(models.map(async (m) => {
    const estimate = isManaged(m.backend) ? m.backend.estimate(m, undefined) : Promise.reject(new Error('not managed'));
    const memory = await estimate.then((f) => `~${formatBytes(f.totalBytes)} when loaded`, () => 'size unknown');
    return `${m.name} (${m.type ?? 'model'} on ${m.backend.name}, ${memory})`;
  }));
  process.stderr.write(banner(running.url, lines));
  const warning = exposureWarning(config);
  if (warning) process.stderr.write(`${warning}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('warmgate: shutting down\n');
  await running.close();
  return 0;
}

/**
 * The gateway refuses to expose itself bare without saying so: listening beyond loopback
 * with no API key, anyone on the network can run, load, unload, pull and delete models.
 */
export function exposureWarning(config: Config): string | undefined {
  const { host, api_keys } = config.server;
  if (isLoopbackListen(host) || api_keys.length > 0) return undefined;
  return `warmgate: WARNING: listening on ${host}, beyond this machine, with no API key: anyone who can reach this port can run, load, unload, pull and delete models. Set WARMGATE_API_KEY (or server.api_keys), or listen on 127.0.0.1.`;
}

function banner(url: string, models: string[]): string {
  const list = models.length ? models.map((m) => `    - ${m}`).join('\n') : '    (none yet: add a backend with --ollama URL or a config file)';
  return [
    `warmgate listening on ${url}`,
    `  Ollama API:  ${url}/api   OpenAI API: ${url}/v1   status: ${url}/warmgate/status`,
    '  models:',
    list,
    '',
  ].join('\n');
}

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
