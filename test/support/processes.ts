/**
 * Gateways as their own processes, for the lifecycle tests and the soak bench: started as
 * users start them (`warmgate serve`), watched through /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startTimeOf } from '../../src/backends/process/leftovers.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * `warmgate serve --config FILE --port 0` from the repository root; resolves with its URL
 * once its banner says it listens. `onLine` sees every line it writes to stderr.
 */
export async function serveProcess(config: string, opts: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve', '--config', config, '--port', '0'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: opts.env ?? process.env,
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const m = /warmgate listening on (http:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]);
      opts.onLine?.(line);
    });
    child.once('exit', (code) => reject(new Error(`warmgate exited (${code}) before listening`)));
  });
  return { child, url };
}

/** SIGKILL, as a crash (nothing can be caught); resolves once the process is gone. */
export async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Polls /proc until the process (pid and start time) is gone; resolves with the ms it took, rejects past `ms`. */
export async function goneWithin(p: { pid: number; start: string }, ms: number): Promise<number> {
  const t0 = performance.now();
  while (startTimeOf(p.pid) === p.start) {
    if (performance.now() - t0 > ms) throw new Error(`process ${p.pid} still runs ${ms} ms later`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}
