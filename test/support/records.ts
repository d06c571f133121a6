import type { AdminStatus } from '../../src/gateway/admin.js';
import type { RequestRecord } from '../../src/telemetry/record.js';

// No vitest here: the benches (embed, thrash) use this kit outside a test run, where
// importing vitest throws. A failed check throws a plain Error, which fails a test the same.

/** `GET /warmgate/status` as the gateway types it: the scheduler's snapshot, each process model's RAM split, the embedding counters. */
export type GatewayStatus = AdminStatus;

export async function gatewayStatus(url: string): Promise<GatewayStatus> {
  const res = await fetch(`${url}/warmgate/status`);
  if (res.status !== 200) throw new Error(`GET /warmgate/status: ${res.status}`);
  return (await res.json()) as GatewayStatus;
}

/** `GET /warmgate/requests`, most recent first. */
export async function requestRecords(url: string, limit = 500): Promise<RequestRecord[]> {
  const res = await fetch(`${url}/warmgate/requests?limit=${limit}`);
  if (res.status !== 200) throw new Error(`GET /warmgate/requests: ${res.status}`);
  return ((await res.json()) as { requests: RequestRecord[] }).requests;
}

/** The most recent record for `route`, asserting there is one. */
export async function latestRecord(url: string, route: string): Promise<RequestRecord> {
  const record = (await requestRecords(url)).find((r) => r.route === route);
  if (!record) throw new Error(`no record for ${route}`);
  return record;
}

/** Probes until `ready` holds (each probe on a later turn of the event loop); the test's timeout bounds it. */
export async function until<T>(probe: () => Promise<T>, ready: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (ready(value)) return value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
