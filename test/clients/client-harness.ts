import { expect } from 'vitest';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { requestRecords } from '../support/records.js';
import type { RunningGateway } from '../../src/app/server.js';
import type { RequestRecord } from '../../src/telemetry/record.js';

/**
 * What every client-library test file shares: the scripted Ollama daemon with one chat
 * and one embedding model, a gateway in front of it, and reads of the gateway's request
 * records and of what the daemon answers when asked directly.
 */

export const CHAT = 'llama3.2:latest';
export const EMBED = 'nomic-embed-text:latest';
export const CHAT_CONTEXT = 131072;
/** Not a power of two and not 4x anything the SDKs could mistake for it. */
export const EMBED_DIMS = 12;

export interface ClientHarness {
  upstream: FakeOllama;
  gateway: RunningGateway;
  /** The gateway's base URL (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<ClientHarness> {
  const upstream = new FakeOllama({
    models: [
      { name: CHAT, contextLength: CHAT_CONTEXT },
      { name: EMBED, kind: 'embedding', embeddingLength: EMBED_DIMS },
    ],
  });
  await upstream.start();
  const gateway = await testGateway({ backends: { ollama: { kind: 'ollama', url: upstream.url } } });
  return {
    upstream,
    gateway,
    url: gateway.url,
    close: async () => {
      await gateway.close();
      await upstream.close();
    },
  };
}

/** Asserts the gateway recorded a request on `route` for `model` with `status`, and returns it. */
export async function expectRecord(gatewayUrl: string, route: string, model: string, status = 200): Promise<RequestRecord> {
  const records = await requestRecords(gatewayUrl);
  const record = records.find((r) => r.route === route && r.model === model && r.status === status);
  expect(record, `a ${status} record for ${route} (${model}) among ${JSON.stringify(records.map((r) => [r.route, r.model, r.status]))}`).toBeDefined();
  expect(typeof record!.total_ms).toBe('number');
  expect(record!.total_ms).toBeGreaterThanOrEqual(0);
  return record!;
}

/** What the daemon's `/api/embed` answers for these inputs when asked directly (normalized vectors). */
export async function upstreamEmbed(upstream: FakeOllama, input: string[]): Promise<number[][]> {
  const { status, body } = await postJson(`${upstream.url}/api/embed`, { model: EMBED, input });
  expect(status).toBe(200);
  return body.embeddings as number[][];
}

/** What the daemon's legacy `/api/embeddings` answers for this prompt when asked directly. */
export async function upstreamLegacyEmbedding(upstream: FakeOllama, prompt: string): Promise<number[]> {
  const { status, body } = await postJson(`${upstream.url}/api/embeddings`, { model: EMBED, prompt });
  expect(status).toBe(200);
  return body.embedding as number[];
}

/** The fake's echo reply, as the client should read it. */
export function echo(text: string): string {
  return `You said: ${text}`;
}
