/**
 * An admin unload sent while an admin load runs: both answer. The load is cancelled (409,
 * saying why) or, if it won the race, finished; the unload then runs, and the model ends
 * unloaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedModel } from '../../src/engine/cached-model.js';
import type { RunningGateway } from '../../src/gateway/server.js';
import { defaultChatSpec } from '../../src/gguf/index.js';
import { modelState, schedulerStatus, type SchedulerStatus } from '../engine-e2e/engine-harness.js';
import { testGateway } from '../support/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  const model = await cachedModel(defaultChatSpec());
  gw = await testGateway({ backends: { embedded: { kind: 'embedded' } }, models: { m: { backend: 'embedded', file: model.path, type: 'chat', threads: 1, ctx: 512 } } });
});
afterAll(async () => {
  await gw?.close();
});

/** Polls the status until `ok` holds, for at most `ms` (registering a model measures its runtime first: seconds on a busy machine). */
async function until(ok: (s: SchedulerStatus) => boolean, what: string, ms = 60_000): Promise<SchedulerStatus> {
  const t0 = performance.now();
  for (;;) {
    const s = await schedulerStatus(gw.url);
    if (ok(s)) return s;
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('admin unload during an admin load', () => {
  it('answers both, and leaves the model unloaded', async () => {
    const load = fetch(`${gw.url}/warmgate/models/m/load`, { method: 'POST' });
    load.catch(() => undefined); // awaited below; never an unhandled rejection if the test fails first
    // Usually caught loading; a load that already finished makes the unload an ordinary one, and both must still answer.
    await until((s) => ['loading', 'ready'].includes(modelState(s, 'm')?.state ?? ''), 'the load to start');
    const unload = await fetch(`${gw.url}/warmgate/models/m/unload`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
    expect(unload.status).toBe(200);
    const loaded = await load;
    const body = await loaded.json();
    if (loaded.status !== 200) {
      expect(loaded.status).toBe(409);
      expect(body.error.message ?? body.error).toMatch(/cancelled: an unload was asked for/);
    }
    expect(modelState(await until((s) => modelState(s, 'm')?.state === 'unloaded', 'the unload'), 'm')?.state).toBe('unloaded');
  });
});
