/**
 * `npm start` is how the README runs the gateway: a SIGTERM sent to npm reaches the gateway,
 * and a SIGKILL of npm (which nothing can pass on) still stops it within 5 s.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTimeOf } from '../../src/backends/process/leftovers.js';
import { goneWithin } from '../support/processes.js';

const ROOT = join(import.meta.dirname, '../..');
let dir: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-npm-start-'));
  config = join(dir, 'warmgate.json');
  // An Ollama backend nobody runs: the gateway starts at once, with no model to generate.
  await writeFile(config, JSON.stringify({ data_dir: join(dir, 'data'), backends: { o: { kind: 'ollama', url: 'http://127.0.0.1:1' } } }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `npm start` with the test config; resolves once the gateway listens, with npm's and the gateway's pids. */
async function npmStart(): Promise<{ npm: number; gateway: { pid: number; start: string } }> {
  const npm = spawn('npm', ['start', '--', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WARMGATE_PORT: '0' } });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: npm.stderr! }).on('line', (line) => line.includes('warmgate listening on') && resolve());
    npm.once('exit', (code) => reject(new Error(`npm start exited (${code})`)));
  });
  // The script execs node, so the gateway is npm's own child.
  const children = (await readFile(`/proc/${npm.pid}/task/${npm.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  const pid = children.find((c) => startTimeOf(c) !== undefined)!;
  return { npm: npm.pid!, gateway: { pid, start: startTimeOf(pid)! } };
}

describe('npm start', () => {
  it('passes a SIGTERM on to the gateway', async () => {
    const { npm, gateway } = await npmStart();
    process.kill(npm, 'SIGTERM');
    await goneWithin(gateway, 5_000);
  });

  it('stops the gateway when npm itself is SIGKILLed', async () => {
    const { npm, gateway } = await npmStart();
    process.kill(npm, 'SIGKILL');
    await goneWithin(gateway, 5_000);
    expect(startTimeOf(gateway.pid)).toBeUndefined();
  });
});
