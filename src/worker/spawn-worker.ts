/**
 * Starting the worker as a child process: the command line (for process backends that
 * spawn it themselves) and `startWorker`, which spawns it and resolves once its `ready`
 * line arrives (tests and benchmarks use it). The loader and entry are absolute paths, so
 * the command works from any working directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toWorkerArgv, WorkerConfigSchema, type WorkerConfigInput } from './cli-args.js';

/** Absolute path of the worker's entry point. */
export const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** The tsx loader as an absolute URL (`--import tsx` only resolves from the project's folder). */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Lines of stderr kept to explain a worker that died. */
const STDERR_TAIL = 40;

export function workerCommand(config: WorkerConfigInput): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', TSX_LOADER, WORKER_ENTRY, ...toWorkerArgv(config)] };
}

export interface StartWorkerOptions {
  /** Aborting kills a worker that is not ready yet and rejects. */
  signal?: AbortSignal;
  /** Each stderr line (the worker's logs); they are drained either way. */
  onStderr?: (line: string) => void;
  /** Grace between SIGTERM and SIGKILL in `stop()` (default 10 s). */
  stopGraceMs?: number;
}

export interface RunningWorker {
  url: string;
  port: number;
  child: ChildProcess;
  /** As the worker reported it in its `ready` line. */
  loadMs: number;
  rss: number;
  /** SIGTERM, then SIGKILL after the grace; resolves once the process has exited. */
  stop(): Promise<void>;
}

export function startWorker(config: WorkerConfigInput, opts: StartWorkerOptions = {}): Promise<RunningWorker> {
  const { host } = WorkerConfigSchema.parse(config);
  const { command, args } = workerCommand(config);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_TAIL) tail.shift();
    opts.onStderr?.(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.stopGraceMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<RunningWorker>((resolve, reject) => {
    let port: number | undefined;
    const fail = (why: string) => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${why}\n${tail.join('\n')}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`worker exited (${signal ?? `code ${code}`}) before it was ready`);
    const onError = (err: Error) => fail(`cannot start the worker: ${err.message}`);
    const onAbort = () => fail('worker start aborted');
    const cleanup = () => {
      child.off('exit', onExit).off('error', onError);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.once('exit', onExit).once('error', onError);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Read to the end: later lines are ignored, but the pipe must never fill up.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseEvent(line);
      if (event?.event === 'listening') port = Number(event.port);
      if (event?.event !== 'ready' || port === undefined) return;
      cleanup();
      const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({ url: `http://${urlHost}:${port}`, port, child, loadMs: Number(event.load_ms), rss: Number(event.rss), stop });
    });
  });
}

function parseEvent(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
