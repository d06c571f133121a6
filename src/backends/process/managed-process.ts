import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { existsSync } from 'node:fs';
import { WarmgateError } from '../../errors.js';
import type { ChildLedger } from './leftovers.js';
import { residentMemory, type ResidentMemory } from '../../memory/process-memory.js';

export interface ManagedProcessOptions {
  argv: string[];
  port: number;
  model: string;
  log: Logger;
  healthTimeoutMs: number;
  /** Grace between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  /** Called once if the process exits without being asked to. */
  onCrash: (message: string) => void;
  /** Where the gateway records its children, for a later gateway to reap if this one dies. */
  ledger?: ChildLedger;
}

/** Linux's `setpriv` (util-linux) can set the parent-death signal before exec'ing the server. */
const SETPRIV = '/usr/bin/setpriv';
let setprivPresent: boolean | undefined;

/**
 * The argv that makes the process die with the gateway, even when the gateway is SIGKILLed
 * (nothing can be caught then): on Linux the kernel sends SIGKILL to a child whose parent
 * dies once `PR_SET_PDEATHSIG` is set, which `setpriv --pdeathsig` does before it execs the
 * server (same pid). Elsewhere the argv is unchanged; the embedded worker also exits when
 * its stdin (a pipe from the gateway) closes, and the ledger lets the next gateway reap.
 */
export function dieWithParent(argv: readonly string[]): string[] {
  setprivPresent ??= process.platform === 'linux' && existsSync(SETPRIV);
  return setprivPresent ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}

const HEALTH_STEP_MS = 50;

/**
 * One server process for one model: started, polled on `/health` every 50 ms until 200
 * (503 means loading), stopped with SIGTERM then SIGKILL. Its output goes to the log
 * tagged with the model's name; an exit nobody asked for is reported as a crash.
 */
export class ManagedProcess {
  readonly port: number;
  readonly #opts: ManagedProcessOptions;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stopping = false;
  #exitCode: number | null | undefined;
  #tail: string[] = [];

  constructor(opts: ManagedProcessOptions) {
    this.#opts = opts;
    this.port = opts.port;
    const [cmd, ...args] = dieWithParent(opts.argv);
    // stdin is a pipe the gateway never writes: it closes when the gateway dies, however it dies.
    this.#child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    const pid = this.#child.pid;
    if (pid !== undefined) opts.ledger?.add(pid, opts.argv);
    const log = opts.log.child({ model: opts.model, pid: this.#child.pid });
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.#tail.push(line);
        if (this.#tail.length > 20) this.#tail.shift();
        log.debug({ out: line }, 'backend output');
      });
    }
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exitCode = code;
        if (pid !== undefined) opts.ledger?.remove(pid);
        if (!this.#stopping) {
          const message = `backend process for ${opts.model} exited (${signal ?? `code ${code}`}): ${this.#tail.slice(-3).join(' | ')}`;
          log.error(message);
          opts.onCrash(message);
        }
        resolve(code);
      });
      this.#child.once('error', (err) => {
        this.#exitCode = -1;
        if (!this.#stopping) opts.onCrash(`cannot start backend process for ${opts.model}: ${err.message}`);
        resolve(-1);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  /** Resolves when `/health` answers 200; rejects on exit, timeout or abort. */
  async waitHealthy(signal: AbortSignal): Promise<void> {
    const pool = new Pool(`http://127.0.0.1:${this.port}`, { connections: 1 });
    const deadline = performance.now() + this.#opts.healthTimeoutMs;
    try {
      while (true) {
        if (!this.alive) throw new WarmgateError('LOAD_FAILED', `backend process for ${this.#opts.model} exited while loading: ${this.#tail.slice(-3).join(' | ')}`);
        signal.throwIfAborted();
        if (performance.now() > deadline) throw new WarmgateError('LOAD_TIMEOUT', `backend for ${this.#opts.model} was not healthy within ${this.#opts.healthTimeoutMs} ms`);
        if (await this.#healthy(pool)) return;
        await new Promise((r) => setTimeout(r, HEALTH_STEP_MS));
      }
    } finally {
      await pool.close();
    }
  }

  async #healthy(pool: Pool): Promise<boolean> {
    try {
      const res = await pool.request({ method: 'GET', path: '/health', headersTimeout: 2_000, bodyTimeout: 2_000 });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** Resident memory of the process, anonymous and file-backed apart (zeros where /proc is not there). */
  memory(): Promise<ResidentMemory> {
    return this.#child.pid === undefined ? Promise.resolve({ rss: 0, anon: 0, file: 0 }) : residentMemory(this.#child.pid);
  }

  /** Whether the process exits within `ms` (true at once if it already has). */
  async exitedWithin(ms: number): Promise<boolean> {
    if (!this.alive) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const exited = await Promise.race([this.#exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return exited;
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves when the process is gone. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.#stopping = true;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), this.#opts.stopGraceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** A free TCP port on loopback (bound and released; the child binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
