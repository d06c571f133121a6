import { ProcessBackend } from '../../src/backends/process/process-backend.js';
import { cachedModel } from '../support/cached-model.js';
import type { RunningGateway } from '../../src/app/server.js';
import { defaultChatSpec, defaultEmbeddingSpec } from '../../src/gguf/index.js';
import { readModelInfo, type ModelInfo } from '../../src/memory/gguf-info.js';
import { testGateway } from '../support/gateway.js';
import { gatewayStatus, type GatewayStatus } from '../support/records.js';

/**
 * Shared by the real-engine tests: the generated chat and embedding GGUFs (cached in the OS
 * temp folder), a gateway serving them on the embedded worker backend, and reads of its
 * admin surface. Random weights: tests check shapes, counts and lifecycles, never text.
 */

export const CHAT = 'chat';
export const EMB = 'emb';
/** The chat model's context as configured (the GGUF itself says 4096). */
export const CHAT_CTX = 2048;

export interface EngineModel {
  path: string;
  info: ModelInfo;
}

export async function engineModels(): Promise<{ chat: EngineModel; emb: EngineModel }> {
  const [chat, emb] = await Promise.all([cachedModel(defaultChatSpec()), cachedModel(defaultEmbeddingSpec())]);
  const [chatInfo, embInfo] = await Promise.all([readModelInfo(chat.path), readModelInfo(emb.path)]);
  return { chat: { path: chat.path, info: chatInfo }, emb: { path: emb.path, info: embInfo } };
}

export interface EngineHarness {
  gateway: RunningGateway;
  url: string;
  chat: EngineModel;
  emb: EngineModel;
  /** The embedded backend (to find a worker's pid). */
  backend: ProcessBackend;
  close(): Promise<void>;
}

/**
 * A gateway with the two generated models on the embedded backend. `threads: 1`: the test
 * machine has 2 shared cores and llama.cpp threads spin when oversubscribed. `extra` adds
 * config keys per model (a keep_alive, say).
 */
export async function startEngineGateway(extra: { chat?: Record<string, unknown>; emb?: Record<string, unknown> } = {}): Promise<EngineHarness> {
  const { chat, emb } = await engineModels();
  const gateway = await testGateway({
    backends: { embedded: { kind: 'embedded' } },
    models: {
      [CHAT]: { backend: 'embedded', file: chat.path, type: 'chat', threads: 1, ctx: CHAT_CTX, ...extra.chat },
      [EMB]: { backend: 'embedded', file: emb.path, type: 'embedding', threads: 1, ...extra.emb },
    },
  });
  const backend = gateway.backends.get('embedded');
  if (!(backend instanceof ProcessBackend)) throw new Error('the embedded backend is not a ProcessBackend');
  return { gateway, url: gateway.url, chat, emb, backend, close: () => gateway.close() };
}

/** Polls `/warmgate/status` (a bounded number of times, no sleeps) until `ok` holds; returns that status. */
export async function waitForStatus(url: string, ok: (s: GatewayStatus) => boolean, what: string, attempts = 2_000): Promise<GatewayStatus> {
  let last: GatewayStatus | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await gatewayStatus(url);
    if (ok(last)) return last;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last)}`);
}

/** One model's entry in the scheduler status (state, requests in flight). */
export function modelState(s: GatewayStatus, model: string): GatewayStatus['models'][number] | undefined {
  return s.models.find((m) => m.name === model);
}
