import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposureWarning } from '../../src/cli/serve.js';
import { validateConfig } from '../../src/config/load.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'wg-admin-5f2c9d0e7a1b4c3d8e6f';

/**
 * `warmgate serve` started as users start it; returns its stderr once the banner is out
 * (written at once; the warning, when there is one, right after it), then stops it.
 */
async function serveStderr(args: string[], env: Record<string, string>): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WARMGATE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', ...args], {
    cwd: ROOT, env: { ...clean, ...env, WARMGATE_PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
      if (stderr.includes('warmgate listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before its banner:\n${stderr}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  child.kill('SIGTERM');
  await exited;
  return stderr;
}

describe('refusing to expose itself bare', () => {
  let upstream: FakeOllama;

  beforeAll(async () => {
    upstream = new FakeOllama({ models: [{ name: 'llama3.2:latest' }] });
    await upstream.start();
  });

  afterAll(async () => {
    await upstream?.close();
  });

  it('says so when listening beyond loopback with no key, and only then', () => {
    const config = (server: object) => validateConfig({ server }, 'test');
    expect(exposureWarning(config({ host: '0.0.0.0' }))).toMatch(/WARNING: listening on 0\.0\.0\.0.*no API key.*WARMGATE_API_KEY/);
    expect(exposureWarning(config({ host: '::' }))).toMatch(/WARNING/);
    expect(exposureWarning(config({ host: '192.168.1.5' }))).toMatch(/WARNING/);
    expect(exposureWarning(config({ host: '0.0.0.0', api_keys: [KEY] }))).toBeUndefined();
    expect(exposureWarning(config({ host: '127.0.0.1' }))).toBeUndefined();
    expect(exposureWarning(config({ host: 'localhost' }))).toBeUndefined();
  });

  it('`warmgate serve --host 0.0.0.0` with no key prints the warning to stderr; with WARMGATE_API_KEY it does not', async () => {
    const bare = await serveStderr(['--host', '0.0.0.0', '--ollama', upstream.url], {});
    expect(bare).toMatch(/warmgate listening on http:\/\/0\.0\.0\.0:\d+/);
    expect(bare).toMatch(/^warmgate: WARNING: listening on 0\.0\.0\.0, beyond this machine, with no API key/m);

    const keyed = await serveStderr(['--host', '0.0.0.0', '--ollama', upstream.url], { WARMGATE_API_KEY: KEY });
    expect(keyed).toMatch(/warmgate listening on/);
    expect(keyed).not.toMatch(/WARNING/);
    expect(keyed).not.toContain(KEY);

    const loopback = await serveStderr(['--ollama', upstream.url], {});
    expect(loopback).toMatch(/warmgate listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(loopback).not.toMatch(/WARNING/);
  });
});
