import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../support/gateway.js';
import { EMB, modelState, startEngineGateway, waitForStatus, type EngineHarness } from './engine-harness.js';

/**
 * A model's keep_alive on a backend whose processes the gateway runs: the gateway itself
 * stops the worker once the model has idled that long (Ollama would do it on its own).
 */
describe('keep_alive on the embedded backend', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineGateway({ emb: { keep_alive: '300ms' } });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('stops the idle worker when its keep-alive runs out, and the next request starts it again', async () => {
    const first = await postJson(`${h.url}/api/embed`, { model: EMB, input: 'kept warm for a moment' });
    expect(first.status).toBe(200);
    const pid = h.backend.pidOf(EMB);
    expect(pid).toBeDefined();
    // /api/ps says when, as Ollama does for its own models.
    const before = Date.now();
    const ps = (await (await fetch(`${h.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string }> };
    const expires = Date.parse(ps.models.find((m) => m.name === `${EMB}:latest`)?.expires_at ?? '');
    expect(expires).toBeGreaterThanOrEqual(before - 300);
    expect(expires).toBeLessThanOrEqual(Date.now() + 300);

    // Polls the status page (no sleeps) until the scheduler has unloaded the model.
    await waitForStatus(h.url, (st) => modelState(st, EMB)?.state === 'unloaded', 'the keep-alive unload', 50_000);
    expect(h.backend.pidOf(EMB)).toBeUndefined();
    expect(() => process.kill(pid!, 0)).toThrow(); // the worker process is gone

    // Another input: the same one would be an embedding-cache hit and start nothing.
    const again = await postJson(`${h.url}/api/embed`, { model: EMB, input: 'and warm again' });
    expect(again.status).toBe(200);
    const restarted = h.backend.pidOf(EMB);
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(pid);
  });
});
