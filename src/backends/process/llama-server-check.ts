import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { defaultChatSpec, defaultEmbeddingSpec, writeModel } from '../../gguf/index.js';
import { freePort } from './managed-process.js';

/**
 * The check a llama-server binary passes before Warmgate runs it. `--version` proves little:
 * a native build on a VM that advertises AMX starts, loads and answers `/health`, then dies
 * with SIGILL at its first decode. So the binary serves two tiny generated models for real:
 * a completion of a few tokens, and one embedding of the model's width. A few seconds; every
 * process it starts is killed on every path.
 */

export interface CheckResult {
  ok: boolean;
  /** When the check ran (ISO 8601). */
  at: string;
  seconds: number;
  /** The completion's generation speed as llama-server timed it (`timings.predicted_per_second`). */
  decodeTokensPerSecond?: number;
  embeddingOk: boolean;
  /** What failed, with the process's last output; absent when ok. */
  error?: string;
}

export interface CheckOptions {
  /** How long each server may take to answer `/health` 200, and each request to answer. */
  timeoutMs?: number;
}

export async function checkLlamaServer(binary: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const at = new Date().toISOString();
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 10) / 100;
  const dir = await mkdtemp(join(tmpdir(), 'warmgate-check-'));
  const servers: CheckServer[] = [];
  let decodeTokensPerSecond: number | undefined;
  try {
    const embedSpec = defaultEmbeddingSpec();
    await writeModel(join(dir, 'chat.gguf'), defaultChatSpec());
    await writeModel(join(dir, 'embed.gguf'), embedSpec);
    // Both at once: loading is most of the time, and each uses one thread.
    const chat = await CheckServer.start(binary, 'chat model', join(dir, 'chat.gguf'), []);
    servers.push(chat);
    const embed = await CheckServer.start(binary, 'embedding model', join(dir, 'embed.gguf'), ['--embedding']);
    servers.push(embed);
    await Promise.all([chat.waitHealthy(timeoutMs), embed.waitHealthy(timeoutMs)]);

    // ignore_eos: random weights may sample the end token first, and the check wants tokens.
    const done = (await chat.post('/completion', { prompt: 'hello', n_predict: 4, ignore_eos: true }, timeoutMs)) as Completion;
    if (!(Number(done.tokens_predicted) > 0)) throw new Error(`chat model: /completion generated no tokens: ${JSON.stringify(done).slice(0, 200)}`);
    decodeTokensPerSecond = round(Number(done.timings?.predicted_per_second ?? 0));

    const vector = embeddingOf(await embed.post('/embedding', { content: 'hello' }, timeoutMs));
    if (vector.length !== embedSpec.embd) throw new Error(`embedding model: /embedding returned ${vector.length} values, expected ${embedSpec.embd}`);
    if (!vector.every(Number.isFinite)) throw new Error('embedding model: /embedding returned values that are not finite numbers');
    return { ok: true, at, seconds: seconds(), decodeTokensPerSecond, embeddingOk: true };
  } catch (err) {
    return { ok: false, at, seconds: seconds(), decodeTokensPerSecond, embeddingOk: false, error: (err as Error).message };
  } finally {
    await Promise.all(servers.map((s) => s.kill()));
    await rm(dir, { recursive: true, force: true });
  }
}

interface Completion {
  tokens_predicted?: number;
  timings?: { predicted_per_second?: number };
}

/** `/embedding` answers `[{index, embedding: [[...]]}]` (one row per pooled input) or a flat vector. */
function embeddingOf(body: unknown): number[] {
  const first = (Array.isArray(body) ? body[0] : body) as { embedding?: unknown } | undefined;
  const rows = first?.embedding;
  const vector = Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0] : rows;
  if (!Array.isArray(vector)) throw new Error(`embedding model: /embedding returned no vector: ${JSON.stringify(body).slice(0, 200)}`);
  return vector as number[];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** One llama-server on a loopback port; how it died (signal or code) and its last output lines. */
class CheckServer {
  readonly #what: string;
  readonly #url: string;
  readonly #child: ChildProcess;
  readonly #closed: Promise<void>;
  #death: string | undefined;
  #tail: string[] = [];

  static async start(binary: string, what: string, model: string, extra: string[]): Promise<CheckServer> {
    const port = await freePort();
    const args = ['-m', model, '--host', '127.0.0.1', '--port', String(port), '-c', '256', '--threads', '1', ...extra];
    return new CheckServer(binary, args, port, what);
  }

  private constructor(binary: string, args: string[], port: number, what: string) {
    this.#what = what;
    this.#url = `http://127.0.0.1:${port}`;
    this.#child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.#tail.push(line);
        if (this.#tail.length > 6) this.#tail.shift();
      });
    }
    // 'close' comes after the output is drained, so the tail holds the last lines.
    this.#closed = new Promise((resolve) => {
      this.#child.once('error', (err) => {
        this.#death ??= `could not be started (${err.message})`;
        resolve();
      });
      this.#child.once('close', (code, signal) => {
        this.#death ??= signal ? `was killed by ${signal}${signal === 'SIGILL' ? ' (an instruction this CPU does not execute)' : ''}` : `exited with code ${code}`;
        resolve();
      });
    });
  }

  /** Polls `/health` every 50 ms until 200 (503 while loading); rejects if the process dies. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#death === undefined) {
      const res = await fetch(`${this.#url}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      await res?.body?.cancel();
      if (res?.status === 200) return;
      if (performance.now() > deadline) throw new Error(`${this.#what}: /health did not answer 200 within ${timeoutMs / 1000} s${this.#lastLines()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw this.#died('while loading');
  }

  async post(path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.#url}${path}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // A dropped connection is usually the process dying: wait briefly to name the signal.
      await Promise.race([this.#closed, new Promise((r) => setTimeout(r, 2_000))]);
      if (this.#death !== undefined) throw this.#died(`during POST ${path}`);
      throw new Error(`${this.#what}: POST ${path} failed: ${(err as Error).message}${this.#lastLines()}`);
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`${this.#what}: POST ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text);
  }

  async kill(): Promise<void> {
    if (this.#death === undefined && this.#child.exitCode === null) this.#child.kill('SIGKILL');
    await this.#closed;
  }

  #died(when: string): Error {
    return new Error(`${this.#what}: llama-server ${this.#death} ${when}${this.#lastLines()}`);
  }

  #lastLines(): string {
    return this.#tail.length > 0 ? `; last output: ${this.#tail.slice(-4).join(' | ')}` : '';
  }
}
