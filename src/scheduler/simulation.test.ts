import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/random.js';
import { FakeShell, type ShellBehaviour } from '../../test/support/scheduler-fake-shell.js';
import { cpuModel, GiB, gpuModel, harness, hostBudgets, hostCopy } from '../../test/support/scheduler-harness.js';
import type { ModelRegistration, SchedulerConfig } from './types.js';

/**
 * Four RAG users, five questions each, out of phase: every question embeds, then chats
 * 300 ms later, so arrivals interleave "embed, chat, embed, chat" across users.
 */
function ragSession(policy: SchedulerConfig['policy']) {
  const config = { policy, maxQueueTotal: 64, maxQueuePerModel: 64 };
  const h = harness({ models: [cpuModel('embed', 3), cpuModel('chat', 8)], budgets: { ram: 10 * GiB }, config });
  const shell = new FakeShell(h, {
    load: (model) => ({ ms: model === 'chat' ? 4000 : 500, fails: false }),
    cancelMs: () => 10,
    unload: () => ({ ms: 100, fails: false }),
    serveMs: (id) => (id.startsWith('e') ? 50 : 1500),
  });
  for (let user = 0; user < 4; user++) {
    for (let q = 0; q < 5; q++) {
      const t = q * 8000 + user * 1000;
      shell.at(t, () => h.s.request({ id: `e${user}.${q}`, model: 'embed' }));
      shell.at(t + 300, () => h.s.request({ id: `c${user}.${q}`, model: 'chat' }));
    }
  }
  shell.run();
  const waits = h.fx.log.flatMap((c) => (c.effect === 'grant' ? [c.info.queueMs] : []));
  return { counters: h.s.snapshot().counters, meanWaitMs: waits.reduce((a, b) => a + b, 0) / waits.length };
}

describe('simulated traffic', () => {
  it('interleaved RAG users: grouping swaps far less than the fifo baseline and waits less', () => {
    const group = ragSession('group');
    const fifo = ragSession('fifo');
    expect(group.counters.grants).toBe(40);
    expect(fifo.counters.grants).toBe(40);
    expect(group.counters.loads * 3).toBeLessThan(fifo.counters.loads);
    expect(group.meanWaitMs * 2).toBeLessThan(fifo.meanWaitMs);
    expect(group.counters.reloadsAvoided).toBeGreaterThan(0);
    expect(fifo.counters.reloadsAvoided).toBe(0);
  });

  for (let seed = 1; seed <= 40; seed++) {
    it(`random event storm #${seed} (reloads among the events) keeps every invariant and answers every request once`, () => storm(seed));
  }
});

function storm(seed: number): void {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const config: Partial<SchedulerConfig> = {
    policy: pick(['group', 'fifo'] as const), maxHoldMs: pick([0, 500, 5000]),
    maxQueuePerModel: pick([2, 8, 64]), maxQueueTotal: pick([4, 16, 128]), loadTimeoutMs: 3000, unloadTimeoutMs: 1000,
  };
  const models: ModelRegistration[] = Array.from({ length: 2 + Math.floor(rnd() * 4) }, (_, i) => {
    const extra = { pinned: rnd() < 0.15, maxParallel: 1 + Math.floor(rnd() * 3), reloadCostMs: 100 + Math.floor(rnd() * 5000) };
    const totalGiB = 1 + Math.floor(rnd() * 7);
    return rnd() < 0.5 ? cpuModel(`m${i}`, totalGiB, extra)
      : gpuModel(`m${i}`, { totalGiB, offloadGiB: totalGiB * 0.75, layers: 8 + Math.floor(rnd() * 32), overheadGiB: 0.5 }, { ...extra, gpuLayers: rnd() < 0.7 ? 'auto' : 4 });
  });
  const budgets: Record<string, number> = { ram: (6 + Math.floor(rnd() * 10)) * GiB };
  if (rnd() < 0.5) budgets.gpu0 = (2 + Math.floor(rnd() * 6)) * GiB;
  // Half the storms have a model served by 2-3 hosts (a copy on each, beside a host-only model), hosts going down and up.
  const hosts = Array.from({ length: rnd() < 0.5 ? 2 + Math.floor(rnd() * 2) : 0 }, (_, j) => `h${j}`);
  const replicas = 1 + Math.floor(rnd() * 2);
  const copies = hosts.flatMap((host) => [hostCopy('c', host, 2 + Math.floor(rnd() * 6), { replicas, maxParallel: 1 + Math.floor(rnd() * 2) }), hostCopy(`o-${host}`, host, 3)]);
  for (const host of hosts) Object.assign(budgets, hostBudgets(6 + Math.floor(rnd() * 4), host));
  const h = harness({ models: [...models, ...copies], budgets, config });
  const behaviour: ShellBehaviour = {
    load: (model, gpuLayers) => {
      const est = h.s.snapshot().models.find((m) => m.name === model)?.estimatedBytes ?? {};
      const sum = (ram: boolean) => Object.entries(est).filter(([pool]) => pool.endsWith('ram') === ram).reduce((n, [, bytes]) => n + bytes, 0);
      const wobble = 0.8 + rnd() * 0.4;
      const measured = rnd() < 0.5 ? { ram: Math.round(sum(true) * wobble), gpu: Math.round(sum(false) * wobble) } : undefined;
      return { ms: pick([50, 400, 1500, 2000, 4000]) * (gpuLayers ? 1.2 : 1), fails: rnd() < 0.1, measured };
    },
    cancelMs: () => pick([5, 200, 1500]),
    unload: () => ({ ms: pick([10, 100, 1500]), fails: rnd() < 0.1 }),
    serveMs: () => pick([5, 100, 1000, 4000]),
  };
  const shell = new FakeShell(h, behaviour);
  const ids: string[] = [];
  const cancelled = new Set<string>();
  for (let i = 0; i < 60; i++) {
    const id = `r${i}`;
    ids.push(id);
    const at = Math.floor(rnd() * 30_000);
    const model = hosts.length > 0 && rnd() < 0.4 ? pick(['c', ...copies.map((c) => c.name)]) : pick(models).name;
    shell.at(at, () => h.s.request({ id, model }));
    if (rnd() < 0.2) shell.at(at + Math.floor(rnd() * 6000), () => { cancelled.add(id); h.s.cancel(id); });
  }
  // Admin calls name registered models (the shell registers a model before asking; a retired one may be gone).
  const admin = (call: (model: string) => void) => () => {
    const name = pick(models).name;
    if (h.s.snapshot().models.some((m) => m.name === name)) call(name);
  };
  if (rnd() < 0.3) shell.at(Math.floor(rnd() * 30_000), admin((m) => h.s.adminLoad(m)));
  if (rnd() < 0.3) shell.at(Math.floor(rnd() * 30_000), admin((m) => h.s.adminUnload(m)));
  // Config reloads: a model's settings change (another footprint), or it is removed.
  if (rnd() < 0.4) {
    const m = pick(models);
    shell.at(Math.floor(rnd() * 30_000), () => h.s.renewModel({ ...m, memory: { ...m.memory, totalBytes: Math.round(m.memory.totalBytes * 0.9) } }));
  }
  if (rnd() < 0.3) shell.at(Math.floor(rnd() * 30_000), () => h.s.retireModel(pick(models).name, 'removed'));
  if (rnd() < 0.4) {
    // As a runtime teaches it: it dropped `b` (if resident) while `a` loaded, so the two do not fit together.
    const [a, b] = [models[0].name, models[1].name];
    const state = (name: string) => h.s.snapshot().models.find((m) => m.name === name)?.state;
    shell.at(Math.floor(rnd() * 30_000), () => {
      if (state(a) === 'ready' || state(a) === 'unloading') return;
      if (state(b) === 'ready') h.s.unloadDone(b);
      if (state(a) !== undefined && state(b) === 'unloaded') h.s.learnConflict([a, b]);
    });
    if (rnd() < 0.3) shell.at(Math.floor(rnd() * 30_000), () => h.s.forgetConflicts([a]));
  }
  for (const host of hosts.filter(() => rnd() < 0.5)) {
    const down = Math.floor(rnd() * 30_000);
    shell.at(down, () => h.s.hostDown(host));
    shell.at(down + Math.floor(rnd() * 8000), () => h.s.hostUp(host));
  }
  shell.run();

  for (const id of ids) {
    const answers = (h.fx.grantOf(id) ? 1 : 0) + (h.fx.rejectionOf(id) ? 1 : 0);
    if (cancelled.has(id)) expect(answers, id).toBeLessThanOrEqual(1);
    else expect(answers, id).toBe(1);
  }
  const snap = h.s.snapshot();
  for (const m of snap.models) expect(m, m.name).toMatchObject({ queued: 0, inFlight: 0, state: expect.stringMatching(/^(unloaded|ready)$/), stale: false, retired: false });
  expect(h.s.nextWakeAt()).toBeUndefined();
  // Strict arrival order never rides on another request's load between two unrelated models.
  if (config.policy === 'fifo') expect(snap.counters.reloadsAvoided).toBe(0);
}
