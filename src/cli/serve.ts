import { hostsOf } from '../models/model-entry.js';
import { ConfigError, loadConfig, parseServeFlags } from '../config/load.js';
import { describeReload } from '../app/reload.js';
import { startGateway } from '../app/server.js';
import { isManaged } from '../backends/backend.js';
import type { Config } from '../config/schema.js';
import { isLoopbackListen } from '../http/security/local-address.js';
import { createLogger } from '../telemetry/logger.js';

/** `warmgate serve [--config FILE] [--ollama URL] [--port N] [--host H]`: runs until SIGINT/SIGTERM; SIGHUP reloads the config. */
export async function serveCommand(argv: string[]): Promise<number> {
  // Node's default for SIGHUP is to exit: from the start, one is remembered and applied once the gateway runs.
  let hangupWhileStarting = false;
  const starting = () => (hangupWhileStarting = true);
  process.on('SIGHUP', starting);
  let config;
  let flags;
  try {
    flags = parseServeFlags(argv);
    config = loadConfig(flags);
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`warmgate: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  let running;
  try {
    running = await startGateway(config, log, { reread: () => loadConfig(flags) });
  } catch (err) {
    const line = startFailure(err, config.server);
    if (!line) throw err;
    process.stderr.write(`warmgate: ${line}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
  const registry = running.registry;
  const models = await registry.list().catch(() => registry.known());
  const lines = await Promise.all(models.map(async (m) => {
    const estimate = isManaged(m.backend) ? m.backend.estimate(m, undefined) : Promise.reject(new Error('not managed'));
    const memory = await estimate.then((f) => `~${formatBytes(f.totalBytes)} when loaded`, () => 'size unknown');
    const on = hostsOf(m).map((h) => h.backend.name).join(', ');
    return `${m.name} (${m.type ?? 'model'} on ${on}, ${memory})`;
  }));
  const daemons = registry.discovering().map(({ backend, error }) => `${backend.name} (${backend.kind}): ${error ? `UNREACHABLE, ${error.message}; requests fail (502, then 503 once its breaker opens) until it answers` : 'reachable'}`);
  process.stderr.write(banner(running.url, lines, daemons));
  const warning = exposureWarning(config);
  if (warning) process.stderr.write(`${warning}\n`);
  const gateway = running;
  const reload = () => gateway.reload().then(
    (report) => process.stderr.write(`warmgate: ${describeReload(report)}\n`),
    (err: Error) => {
      if (!(err instanceof ConfigError)) log.error({ err }, 'config reload failed');
      else log.error({ err: err.message }, 'config reload refused; the running config stays');
      process.stderr.write(`warmgate: config reload refused; the running config stays: ${err.message}\n`);
    },
  );
  process.off('SIGHUP', starting);
  process.on('SIGHUP', reload);
  if (hangupWhileStarting) void reload();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    watchLauncher(stop);
  });
  process.off('SIGHUP', reload);
  const { drain_s } = running.config().server;
  process.stderr.write(`warmgate: shutting down (requests in flight get up to ${drain_s} s)\n`);
  await running.close({ drainMs: drain_s * 1000 });
  return 0;
}

/** One line for the start-up failures a user causes and can fix; undefined for a bug (its stack is worth seeing). */
function startFailure(err: unknown, server: { host: string; port: number }): string | undefined {
  if (err instanceof ConfigError) return err.message;
  const e = err as NodeJS.ErrnoException;
  const where = `${server.host}:${server.port}`;
  if (e.code === 'EADDRINUSE') return `cannot listen on ${where}: the port is in use; pick another with --port or server.port`;
  if (e.code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no network interface has the address ${server.host}; use --host 127.0.0.1 or 0.0.0.0`;
  if (e.code === 'EACCES') return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `cannot listen on ${where}: the host name ${server.host} does not resolve`;
  return undefined;
}

/**
 * Run by npm (`npm start`; the script `exec`s node, so npm is the parent): a signal npm does
 * not pass on, or a SIGKILL of npm, would leave the gateway running with parent PID 1. So it
 * stops as on SIGTERM once its parent is gone. Started any other way (a shell, systemd, a
 * container's init) it keeps running when its parent exits, as a daemon should.
 */
function watchLauncher(stop: () => void): void {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.stderr.write('warmgate: npm, which started the gateway, is gone\n');
    stop();
  }, 500);
  timer.unref();
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

/** `daemons`: each discovering backend and its state at start. */
function banner(url: string, models: string[], daemons: string[]): string {
  const none = daemons.length ? '    (none listed yet)' : '    (none yet: add a backend with --ollama URL or a config file)';
  return [
    `warmgate listening on ${url}`,
    `  Ollama API:  ${url}/api   OpenAI API: ${url}/v1   status: ${url}/warmgate/status`,
    '  models:',
    models.length ? models.map((m) => `    - ${m}`).join('\n') : none,
    ...(daemons.length ? ['  backends:', ...daemons.map((d) => `    - ${d}`)] : []),
    '',
  ].join('\n');
}

function formatBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
