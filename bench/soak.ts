/**
 * `npm run bench -- soak [--json] [--minutes 10] [--clients 64] [--kill-every-s 60] [--reload-every-s 90]`: the
 * gateway left running under a mixed load, on loopback only and bounded in time. A real
 * `warmgate serve` process with the embedded worker (the generated chat and embedding
 * models) gets `--clients` closed-loop clients sending streamed Ollama chats, whole OpenAI
 * chats, embeddings and tag lists, while a worker is SIGKILLed every `--kill-every-s` and
 * the config is reloaded (SIGHUP) every `--reload-every-s`, alternating a change that
 * touches a model (the chat model's context: it is replaced once idle) and one that does
 * not (an allowed origin).
 * Every request must end with a complete answer or a clean error (an error status, or an
 * error line in its stream): "hung" (no end within 120 s) and "broken" (a cut stream, a
 * socket error) are the failures. Prints sent, outcomes by kind, p50/p99, the gateway's
 * RSS (idle, at the first sample under load, at the end, and every interval), its growth
 * from the first sample under load, the reloads applied (and refused: none expected), and
 * the workers left once it stopped (none expected).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { liveChildren, startTimeOf } from '../src/backends/process/leftovers.js';
import { defaultChatSpec, defaultEmbeddingSpec } from '../src/gguf/index.js';
import { residentMemory } from '../src/memory/process-memory.js';
import { cachedModel } from '../test/support/cached-model.js';
import { serveProcess } from '../test/support/processes.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round } from './util.js';

type Outcome = 'ok' | 'clean_error' | 'hung' | 'broken';

const REQUEST_LIMIT_MS = 120_000;

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const { values } = parseArgs({
    args: opts.args,
    options: { minutes: { type: 'string', default: '10' }, clients: { type: 'string', default: '64' }, 'kill-every-s': { type: 'string', default: '60' }, 'reload-every-s': { type: 'string', default: '90' } },
  });
  const [minutes, clients, killEveryS, reloadEveryS] = [Number(values.minutes), Number(values.clients), Number(values['kill-every-s']), Number(values['reload-every-s'])];
  const dir = await mkdtemp(join(tmpdir(), 'warmgate-soak-'));
  const [chat, emb] = await Promise.all([cachedModel(defaultChatSpec()), cachedModel(defaultEmbeddingSpec())]);
  const file = join(dir, 'config.json');
  /** Reload n: odd ones change the chat model's context (it is replaced once idle), even ones only the allowed origins. */
  const writeConfig = (n: number) => writeFile(file, JSON.stringify({
    data_dir: dir, log: { level: 'warn' }, server: { drain_s: 10, origins: [`https://soak-${Math.floor(n / 2)}.example`] }, backends: { embedded: { kind: 'embedded' } },
    models: {
      chat: { backend: 'embedded', file: chat.path, type: 'chat', threads: 1, ctx: Math.floor((n + 1) / 2) % 2 ? 1024 : 2048, parallel: 2 },
      emb: { backend: 'embedded', file: emb.path, type: 'embedding', threads: 1 },
    },
  }));
  await writeConfig(0);
  const reloads = { sent: 0, applied: 0, touched_model: 0, refused: 0 };
  const { child: gateway, url } = await serveProcess(file, {
    onLine: (line) => {
      if (line.startsWith('warmgate: config reloaded')) {
        reloads.applied++;
        if (line.includes('changed (reloaded once idle) chat')) reloads.touched_model++;
      } else if (line.startsWith('warmgate: config reload refused')) reloads.refused++;
    },
  });
  const outcomes: Record<Outcome, number> = { ok: 0, clean_error: 0, hung: 0, broken: 0 };
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let sent = 0;
  const deadline = performance.now() + minutes * 60_000;
  const rssStart = (await residentMemory(gateway.pid!)).rss;
  let killed = 0;
  const rssSamples: number[] = [];
  const killer = setInterval(() => {
    void residentMemory(gateway.pid!).then((m) => rssSamples.push(m.rss));
    const ws = liveChildren(join(dir, 'run'));
    const victim = ws[killed % Math.max(1, ws.length)];
    if (!victim) return;
    process.kill(victim.pid, 'SIGKILL');
    killed++;
    opts.log(`killed worker ${victim.pid} (${killed}); ${sent} sent so far`);
  }, killEveryS * 1000);
  const reloader = setInterval(() => {
    if (performance.now() > deadline - 5_000) return; // every reload's outcome is in before the gateway stops
    void writeConfig(++reloads.sent).then(() => {
      gateway.kill('SIGHUP');
      opts.log(`reload ${reloads.sent} (${reloads.sent % 2 ? 'chat context' : 'origins only'}); ${sent} sent so far`);
    });
  }, reloadEveryS * 1000);
  try {
    await Promise.all(Array.from({ length: clients }, async (_, client) => {
      for (let i = client; performance.now() < deadline; i += clients) {
        sent++;
        const t0 = performance.now();
        const { outcome, error } = await oneRequest(url, i % 4);
        outcomes[outcome]++;
        if (error) errors[error] = (errors[error] ?? 0) + 1;
        if (outcome === 'ok') latencies.push(performance.now() - t0);
      }
    }));
  } finally {
    clearInterval(killer);
    clearInterval(reloader);
  }
  const rssEnd = (await residentMemory(gateway.pid!)).rss;
  const running = liveChildren(join(dir, 'run'));
  const exited = new Promise((resolve) => gateway.once('exit', resolve));
  gateway.kill('SIGTERM');
  await exited;
  const leftovers = running.filter((w) => startTimeOf(w.pid) === w.start).map((w) => w.pid);
  await rm(dir, { recursive: true, force: true });
  const [p50, p99] = percentiles(latencies, [50, 99]);
  // Growth counts from the first sample under load (heaps and JIT have sized themselves by then), not from idle.
  const warm = rssSamples[0] ?? rssStart;
  const growth = round(((rssEnd - warm) / warm) * 100, 1);
  return {
    minutes, clients, kill_every_s: killEveryS, workers_killed: killed, sent, outcomes, errors,
    p50_ms: round(p50 ?? 0, 1), p99_ms: round(p99 ?? 0, 1),
    gateway_rss_idle_bytes: rssStart, gateway_rss_warm_bytes: warm, gateway_rss_end_bytes: rssEnd,
    gateway_rss_samples_mb: rssSamples.map((b) => round(b / 1e6, 1)), rss_growth_pct: growth,
    leftover_workers: leftovers, reload_every_s: reloadEveryS, config_reloads: reloads,
    pass: outcomes.hung === 0 && outcomes.broken === 0 && leftovers.length === 0 && growth < 10 && reloads.refused === 0 && reloads.applied === reloads.sent,
  };
}

/** One request of the mix; its outcome judged from the status and, for a stream, its last line. */
async function oneRequest(url: string, kind: number): Promise<{ outcome: Outcome; error?: string }> {
  const [path, body] = [
    ['/api/chat', { model: 'chat', messages: [{ role: 'user', content: 'tell me something' }], options: { num_predict: 16 } }],
    ['/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 }],
    ['/api/embed', { model: 'emb', input: ['a short passage to embed', 'another one'] }],
    ['/api/tags', undefined],
  ][kind] as [string, object | undefined];
  try {
    const res = await fetch(`${url}${path}`, { method: body ? 'POST' : 'GET', body: body && JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_LIMIT_MS) });
    const text = await res.text();
    if (res.status >= 400) return { outcome: 'clean_error', error: `${res.status} ${errorOf(text)}` };
    if (path !== '/api/chat') return { outcome: 'ok' };
    const last = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { done?: boolean; error?: string };
    if (last.done) return { outcome: 'ok' };
    return last.error ? { outcome: 'clean_error', error: `stream: ${last.error}` } : { outcome: 'broken', error: 'stream ended without done or error' };
  } catch (err) {
    const e = err as Error;
    return e.name === 'TimeoutError' ? { outcome: 'hung', error: 'no answer in 120 s' } : { outcome: 'broken', error: e.message };
  }
}

function errorOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: string | { message?: string } };
    return (typeof body.error === 'string' ? body.error : body.error?.message ?? '').replace(/\d+/g, 'N').slice(0, 80);
  } catch {
    return text.slice(0, 80);
  }
}
