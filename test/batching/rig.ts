/**
 * The batching tests' rig: the scripted Ollama daemon behind a real gateway, plus ways to
 * ask the daemon directly (the reference answers) and to see which embedding calls the
 * GATEWAY made upstream (direct calls carry a header and are left out).
 */
import type { ConfigInput } from '../../src/config/schema.js';
import type { RunningGateway } from '../../src/app/server.js';
import type { RequestRecord } from '../../src/telemetry/record.js';
import { FakeOllama, type RecordedRequest } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { gatewayStatus, requestRecords, type GatewayStatus } from '../support/records.js';

export const EMBED = 'nomic-embed-text:latest';
/** A second embedding model with vectors of another length, so a mix-up would show. */
export const OTHER = 'all-minilm:latest';

const DIRECT = 'x-batching-test-direct';

/** A window no test waits for: batches in these tests are sent because they are full (`max_inputs`). */
export const NEVER = 60_000;

export interface Rig {
  fake: FakeOllama;
  gw: RunningGateway;
  /** POSTs to the gateway. */
  post(path: string, body: unknown, init?: RequestInit): Promise<{ status: number; body: any }>;
  /** POSTs the same body to the daemon itself: the answer the gateway must reproduce. */
  direct(path: string, body: unknown): Promise<any>;
  /** Embedding calls the gateway made to the daemon (`/api/embed` with inputs; preloads left out). */
  embedCalls(): RecordedRequest[];
  /** Every call the gateway made to `path`. */
  gatewayCalls(path: string): RecordedRequest[];
  status(): Promise<GatewayStatus>;
  records(): Promise<RequestRecord[]>;
  close(): Promise<void>;
}

export async function startRig(batching: NonNullable<ConfigInput['batching']>, models: ConfigInput['models'] = {}): Promise<Rig> {
  const fake = new FakeOllama({
    models: [{ name: EMBED, kind: 'embedding', embeddingLength: 8 }, { name: OTHER, kind: 'embedding', embeddingLength: 6 }],
  });
  await fake.start();
  const gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: fake.url } }, models, batching });
  const gatewayCalls = (path: string) => fake.requests.filter((r) => r.path === path && r.headers[DIRECT] === undefined);
  return {
    fake,
    gw,
    post: (path, body, init) => postJson(`${gw.url}${path}`, body, init),
    async direct(path, body) {
      const res = await postJson(`${fake.url}${path}`, body, { headers: { 'content-type': 'application/json', [DIRECT]: '1' } });
      if (res.status !== 200) throw new Error(`the daemon answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    embedCalls: () => gatewayCalls('/api/embed').filter((r) => ((r.body as { input?: unknown[] }).input ?? []).length > 0),
    gatewayCalls,
    status: () => gatewayStatus(gw.url),
    records: () => requestRecords(gw.url, 1000),
    async close() {
      await gw.close();
      await fake.close();
    },
  };
}

/** Distinct texts of a few words each. */
export function texts(count: number, tag = 'passage'): string[] {
  return Array.from({ length: count }, (_, i) => `${tag} ${i}: the quick brown fox number ${i * 7919} jumps`);
}

/** Whether `part` occurs in `whole` as one contiguous run, in order. */
export function containsRun(whole: readonly unknown[], part: readonly unknown[]): boolean {
  for (let i = 0; i + part.length <= whole.length; i++) {
    if (part.every((item, j) => whole[i + j] === item)) return true;
  }
  return false;
}
