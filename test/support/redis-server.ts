/**
 * A real `redis-server` (Debian's package) for the shared-cache tests and `bench embed`:
 * installed when missing and this process may (root, apt-get), started on a free loopback
 * port in a temp dir, without persistence, bounded as the README tells users to bound it,
 * killed and restarted on the same port (so gateways reconnect to the same URL), or paused.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { dieWithParent, freePort } from '../../src/backends/process/managed-process.js';
import { killed } from './processes.js';

const READY = /Ready to accept connections/;

/** The redis-server binary, installed with apt-get first when it is missing and this process is root. */
export function redisServerBinary(): string {
  const found = onPath('redis-server');
  if (found) return found;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    throw new Error('redis-server is not installed and this process cannot install it (needs root and apt-get): apt-get install redis-server');
  }
  const apt = (...args: string[]) => execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
    stdio: 'pipe', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const install = () => apt('install', '-y', '--no-install-recommends', 'redis-server');
  try {
    install();
  } catch {
    apt('update'); // stale package lists are the usual reason
    install();
  }
  const installed = onPath('redis-server');
  if (!installed) throw new Error('apt-get installed redis-server but no redis-server binary is on PATH');
  return installed;
}

export class RedisServer {
  readonly #binary: string;
  readonly #dir: string;
  readonly port: number;
  #child: ChildProcess | undefined;

  private constructor(binary: string, dir: string, port: number) {
    this.#binary = binary;
    this.#dir = dir;
    this.port = port;
  }

  /** A server on a free port, ready to accept connections. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(redisServerBinary(), mkdtempSync(join(tmpdir(), 'warmgate-redis-')), await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** Starts it again on the same port (after `kill`); resolves once it accepts connections. */
  async restart(): Promise<void> {
    const argv = dieWithParent([
      this.#binary, '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '',
      '--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru',
    ]);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        if (READY.test(line)) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${lines.slice(-5).join('\n')}`)));
    });
  }

  /** SIGKILL, as a crash; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) await killed(child);
  }

  /** SIGSTOP: connections stay open and nothing answers (a Redis too slow to be of use). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '').split(delimiter).concat('/usr/sbin', '/usr/bin').map((dir) => join(dir, name)).find((path) => existsSync(path));
}
