import { isManaged } from '../../src/backends/backend.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/load.js';
import { startGateway, type RunningGateway } from '../../src/app/server.js';
import { createLogger } from '../../src/telemetry/logger.js';

/**
 * A gateway on a free loopback port with the given config; logs silenced unless
 * WARMGATE_TEST_LOG is set. `listen` binds another address (`0.0.0.0`: a test still sends
 * only to 127.0.0.1). `reread` is what a reload reads (as a file would be read again).
 */
export async function testGateway(config: ConfigInput, opts: { listen?: string; reread?: () => ConfigInput } = {}): Promise<RunningGateway> {
  const parse = (c: ConfigInput) => validateConfig({ ...c, server: { ...c.server, host: opts.listen ?? '127.0.0.1', port: 0 } }, 'test');
  const reread = opts.reread;
  return startGateway(parse(config), createLogger(process.env.WARMGATE_TEST_LOG ?? 'silent'), { reread: reread && (() => parse(reread())) });
}

/** POSTs JSON and returns status, headers and the parsed body (or text when not JSON). */
export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The gateway's own estimate of a model's footprint without a GPU (what its scheduler admits the load with). */
export async function estimatedBytes(gw: RunningGateway, name: string): Promise<number> {
  const entry = gw.registry.known().find((e) => e.name === name);
  if (!entry) throw new Error(`model ${name} is not registered`);
  if (!isManaged(entry.backend)) throw new Error(`model ${name} is on a backend the gateway does not manage`);
  return (await entry.backend.estimate(entry, undefined)).totalBytes;
}
