/**
 * An admin unload sent while an admin load runs: both answer. The load is cancelled (409,
 * saying why) or, if it won the race, finished; the unload then runs, and the model ends
 * unloaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedModel } from '../support/cached-model.js';
import type { RunningGateway } from '../../src/app/server.js';
import { defaultChatSpec } from '../../src/gguf/index.js';
import { modelState } from '../engine-e2e/engine-harness.js';
import { gatewayStatus, until } from '../support/records.js';
import { testGateway } from '../support/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  const model = await cachedModel(defaultChatSpec());
  gw = await testGateway({ backends: { embedded: { kind: 'embedded' } }, models: { m: { backend: 'embedded', file: model.path, type: 'chat', threads: 1, ctx: 512 } } });
});
afterAll(async () => {
  await gw?.close();
});

describe('admin unload during an admin load', () => {
  it('answers both, and leaves the model unloaded', async () => {
    const load = fetch(`${gw.url}/warmgate/models/m/load`, { method: 'POST' });
    load.catch(() => undefined); // awaited below; never an unhandled rejection if the test fails first
    // Usually caught loading; a load that already finished makes the unload an ordinary one, and both must still answer.
    await until(() => gatewayStatus(gw.url), (s) => ['loading', 'ready'].includes(modelState(s, 'm')?.state ?? ''));
    const unload = await fetch(`${gw.url}/warmgate/models/m/unload`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
    expect(unload.status).toBe(200);
    const loaded = await load;
    const body = await loaded.json();
    if (loaded.status !== 200) {
      expect(loaded.status).toBe(409);
      expect(body.error.message ?? body.error).toMatch(/cancelled: an unload was asked for/);
    }
    expect(modelState(await until(() => gatewayStatus(gw.url), (s) => modelState(s, 'm')?.state === 'unloaded'), 'm')?.state).toBe('unloaded');
  });
});
