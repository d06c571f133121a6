/**
 * `npm run bench -- hosts [--json] [--clients 32] [--questions 8] [--kill-at-s 8] [--down-s 4] [--kill b] [--limit-s 90] [--memory told|learned]`
 *
 * Several GPU hosts behind one address (issue 15): placement against what people do
 * without it. Three scripted Ollama daemons on loopback (a 8 GiB, b 12 GiB, c 10 GiB of VRAM;
 * Ollama's default of 3 models at most), each with the same six models pulled (two
 * embedding, four chat, 0.3-7.1 GB: a host holds 2-3 of them, never all six), loads and
 * tokens paced at about a quarter of a real GPU's times. `--clients` AnythingLLM users ask
 * `--questions` questions each (embed the query, list and show the models, stream a chat;
 * bench/support/anythingllm-client.ts), each user mostly with its favourite chat model
 * (popularity 4:3:2:1) and one of the embedders (3 users in 4 the small one), pausing
 * 0.5-2.5 s to read each answer. The same script runs twice:
 * - `placement`: through a `warmgate serve` process with the three daemons as `kind: ollama`
 *   backends (breakers of 3 failures / 5 s; `memory.gpu` = their VRAM, or with
 *   `--memory learned` no memory, as a user who does not say it) and every model
 *   `backends: [a, b, c]`;
 * - `round_robin`: through nginx's round-robin with its defaults (bench/support/round-robin-proxy.ts).
 * In both, host `--kill` is killed `--kill-at-s` into the run (its server closed, sockets
 * destroyed) and restarted empty on its port `--down-s` later. No question starts after
 * `--limit-s`; a request with no end within 30 s is lost. Every question's text is new, so
 * the embedding cache never answers: the loads compare placement alone. The scripted
 * daemons serve a model's requests all at once (no OLLAMA_NUM_PARALLEL queue), which
 * favours round-robin's latency: the gateway lets 4 per model and host through.
 *
 * Reported per run: loads and evictions (the daemons' own counts, every life of each),
 * whole-question p50/p95, requests sent / ok / clean errors / streams cut with the
 * dialect's error line / lost (no reply, or a broken one); for placement also which host
 * served the inference requests, the gateway's own counters, what it holds resident at the
 * end and the conflicts it learned (models that do not fit together on a host). Then loads
 * RR/placement and the issue's goal: >= 3x fewer loads, p95 no worse, nothing lost.
 */
import { parseArgs } from 'node:util';
import type { FakeModelSpec } from '../test/fakes/ollama-upstream.js';
import { Hosts } from '../test/support/hosts.js';
import { gatewayStatus, requestRecords } from '../test/support/records.js';
import { ScriptedDaemons, type DaemonSpec } from '../test/support/scripted-daemons.js';
import { drive, questionScript, type ScriptedQuestion } from './support/hosts-traffic.js';
import { startRoundRobinProxy } from './support/round-robin-proxy.js';
import type { BenchOptions, BenchResult } from './run.js';
import { percentiles, round } from './util.js';

const GB = 1e9;
const GiB = 1024 ** 3;
const REQUEST_LIMIT_MS = 30_000;
const REPLY_TOKENS = 40;

/** A model's pace: loading 100 ms + 125 ms per GB; `tokenMs` per generated token (per input for an embedder). */
function model(name: string, kind: FakeModelSpec['kind'], gb: number, tokenMs: number): FakeModelSpec {
  const reply = Array.from({ length: REPLY_TOKENS }, (_, i) => `word${i}`).join(' ');
  return { name, kind, size: gb * GB, loadMs: Math.round(100 + 125 * gb), tokenMs, reply: () => reply };
}

const EMBEDDERS = ['nomic-embed-text', 'mxbai-embed-large'];
const CHATS = ['llama3.2:3b', 'qwen2.5:7b', 'llama3.1:8b', 'mistral-nemo:12b'];
const MODELS: FakeModelSpec[] = [
  model(EMBEDDERS[0], 'embedding', 0.3, 10), model(EMBEDDERS[1], 'embedding', 0.7, 10),
  model(CHATS[0], 'completion', 2.0, 5), model(CHATS[1], 'completion', 4.7, 10),
  model(CHATS[2], 'completion', 4.9, 10), model(CHATS[3], 'completion', 7.1, 15),
];
const HOSTS: Record<string, DaemonSpec> = {
  a: { vram: 8 * GiB, models: MODELS }, b: { vram: 12 * GiB, models: MODELS }, c: { vram: 10 * GiB, models: MODELS },
};

interface Settings {
  clients: number;
  questions: number;
  killAtS: number;
  downS: number;
  kill: string;
  limitS: number;
  /** Whether the gateway is told each daemon's VRAM (`memory.gpu`) or learns what fits. */
  memory: 'told' | 'learned';
}

function settings(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '32' }, questions: { type: 'string', default: '8' }, 'kill-at-s': { type: 'string', default: '8' },
      'down-s': { type: 'string', default: '4' }, kill: { type: 'string', default: 'b' }, 'limit-s': { type: 'string', default: '90' },
      memory: { type: 'string', default: 'told' },
    },
  });
  const s = {
    clients: Number(values.clients), questions: Number(values.questions), killAtS: Number(values['kill-at-s']),
    downS: Number(values['down-s']), kill: values.kill!, limitS: Number(values['limit-s']), memory: values.memory as Settings['memory'],
  };
  for (const k of ['clients', 'questions', 'killAtS', 'downS', 'limitS'] as const) {
    if (!(s[k] > 0)) throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive number`);
  }
  if (!(s.kill in HOSTS)) throw new Error(`--kill must name a host: ${Object.keys(HOSTS).join(', ')}`);
  if (s.memory !== 'told' && s.memory !== 'learned') throw new Error('--memory must be told or learned');
  return s;
}

/** The daemons and a front over them: its URL, what it can tell about itself at the end, and how to stop both. */
interface Front {
  daemons: ScriptedDaemons;
  url: string;
  report(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function run(opts: BenchOptions): Promise<BenchResult> {
  const s = settings(opts.args);
  const script = questionScript({ clients: s.clients, questions: s.questions, embedders: EMBEDDERS, chats: CHATS, seed: 15 });
  const placement = await runOnce('placement', s, script, opts.log, () => gatewayFront(s.memory));
  const roundRobin = await runOnce('round_robin', s, script, opts.log, roundRobinFront);
  const ratio = round(roundRobin.loads / Math.max(1, placement.loads), 2);
  return {
    clients: s.clients, questions_per_client: s.questions, killed_host: s.kill, kill_at_s: s.killAtS, down_s: s.downS, gateway_memory: s.memory,
    hosts: Object.fromEntries(Object.entries(HOSTS).map(([name, h]) => [name, `${round(h.vram / GiB, 1)} GiB`])),
    models: Object.fromEntries(MODELS.map((m) => [m.name, `${round(m.size! / GB, 1)} GB, load ${m.loadMs} ms, ${m.tokenMs} ms/token`])),
    placement, round_robin: roundRobin,
    loads_ratio_rr_over_placement: ratio,
    goal: {
      loads_3x_fewer: ratio >= 3,
      p95_no_worse: placement.question_ms.p95 <= roundRobin.question_ms.p95,
      none_lost: placement.requests.lost === 0,
    },
  };
}

async function runOnce(name: string, s: Settings, script: ScriptedQuestion[][], log: (line: string) => void, start: () => Promise<Front>) {
  const front = await start();
  const { daemons } = front;
  try {
    log(`${name}: ${s.clients} users through ${front.url}; host ${s.kill} dies at ${s.killAtS} s and is back ${s.downS} s later`);
    const t0 = performance.now();
    const chaos = (async () => {
      await new Promise((resolve) => setTimeout(resolve, s.killAtS * 1000));
      await daemons.kill(s.kill);
      log(`${name}: host ${s.kill} killed at ${round((performance.now() - t0) / 1000, 1)} s`);
      await new Promise((resolve) => setTimeout(resolve, s.downS * 1000));
      await daemons.restart(s.kill);
      log(`${name}: host ${s.kill} back at ${round((performance.now() - t0) / 1000, 1)} s`);
    })();
    const traffic = await drive(front.url, script, t0 + s.limitS * 1000, REQUEST_LIMIT_MS);
    const wallS = round((performance.now() - t0) / 1000, 1);
    await chaos;
    const counts = daemons.counts();
    const resident = Object.fromEntries(daemons.names.map((n) => [n, daemons.daemon(n).resident().map((m) => m.name)]));
    const [p50, p95] = percentiles(traffic.latencies, [50, 95]);
    const { ok, error, cut, lost } = traffic.tally.outcomes;
    log(`${name}: done in ${wallS} s`);
    return {
      wall_s: wallS,
      loads: Object.values(counts).reduce((n, c) => n + c.loads, 0),
      evictions: Object.values(counts).reduce((n, c) => n + c.unloads, 0),
      by_host: counts,
      resident_at_end: resident,
      question_ms: { p50: round(p50, 0), p95: round(p95, 0) },
      questions: { asked: traffic.asked, answered: traffic.latencies.length, not_started: traffic.notStarted },
      requests: { sent: traffic.tally.sent, ok, clean_errors: error, cut_streams: cut, lost },
      failures: traffic.tally.messages,
      ...(await front.report()),
    };
  } finally {
    await front.close();
  }
}

/** The daemons behind nginx-style round-robin. */
async function roundRobinFront(): Promise<Front> {
  const daemons = await ScriptedDaemons.start(HOSTS);
  const proxy = await startRoundRobinProxy(daemons.names.map((n) => daemons.url(n)));
  return {
    daemons, url: proxy.url, report: async () => ({}),
    async close() {
      await proxy.close();
      await daemons.close();
    },
  };
}

/** A `warmgate serve` process over the daemons (the placement tests' rig), every model on all of them. */
async function gatewayFront(memory: Settings['memory']): Promise<Front> {
  const hosts = await new Hosts().start(HOSTS, {
    server: { records_kept: 100_000 },
    backend: { discover: true, breaker: { failures: 3, open_s: 5 }, ...(memory === 'learned' && { memory: {} }) },
    models: Object.fromEntries(MODELS.map((m) => [m.name, { backends: Object.keys(HOSTS) }])),
  });
  const { url } = hosts;
  return {
    daemons: hosts.daemons, url,
    async report() {
      const [status, records] = await Promise.all([gatewayStatus(url), requestRecords(url, 100_000)]);
      const servedBy: Record<string, number> = {};
      for (const r of records) if (r.route === '/api/chat' || r.route === '/api/embed') servedBy[r.backend ?? 'none'] = (servedBy[r.backend ?? 'none'] ?? 0) + 1;
      return {
        gateway: {
          served_by_host: servedBy, loads: status.counters.loads, evictions: status.counters.evictions,
          breaker_opens: Object.fromEntries(status.backends.map((b) => [b.name, b.breaker?.opens ?? 0])),
          resident_at_end: status.models.filter((m) => m.state === 'ready').map((m) => m.name),
          learned_conflicts: status.conflicts,
        },
      };
    },
    close: () => hosts.close(),
  };
}
