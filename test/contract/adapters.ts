/**
 * The backend contract's adapters: one small harness per backend kind (how to build it with
 * a chat model and an embedding model behind a gateway, how to tell its model is up or gone,
 * how to crash it), so `backend-contract.test.ts` runs the same test bodies on each.
 *
 * Every harness builds a real gateway (port 0) and hands out its own backend object and model
 * entries: the tests drive the Backend interface directly, and the gateway's HTTP surface for
 * what needs the whole request path (timings in the request records).
 */
import { expect } from 'vitest';
import type { ManagedBackend } from '../../src/backends/backend.js';
import { OllamaBackend } from '../../src/backends/ollama/ollama-backend.js';
import { ProcessBackend } from '../../src/backends/process/process-backend.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { cachedModel } from '../support/cached-model.js';
import type { RunningGateway } from '../../src/app/server.js';
import { defaultChatSpec, defaultEmbeddingSpec } from '../../src/gguf/index.js';
import { readModelInfo } from '../../src/memory/gguf-info.js';
import type { ModelEntry } from '../../src/models/model-entry.js';
import { readText } from '../../src/upstream/upstream-pool.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { testGateway } from '../support/gateway.js';
import { requireLlamaServer } from './llama-rig.js';

/** What a test needs to tell that a model it loaded is really up, and later really gone. */
export interface Serving {
  /** Whether the model is gone at the backend (process exited; the daemon no longer lists it). */
  gone(): Promise<boolean>;
}

/** How an adapter's model dies while it streams a reply. */
export interface CrashScript {
  /** Before the request: arms a scripted crash (the fake daemon's knob), or nothing. */
  arm(entry: ModelEntry): void;
  /** Once the first delta has arrived: kills the model's process, or nothing (the knob fires by itself). */
  strike(entry: ModelEntry): void;
  /** Undoes `arm`, whatever the test's outcome. */
  disarm(): void;
  /** The `code` the request in flight fails with. */
  code: string;
  /**
   * Resolves with the model's name once the backend has told its crash listeners
   * (`ManagedBackend.onLost`); undefined where the adapter has no crash listener.
   */
  reported?(entry: ModelEntry): Promise<string>;
}

export interface AdapterRig {
  gateway: RunningGateway;
  url: string;
  backend: ManagedBackend;
  chat: ModelEntry;
  emb: ModelEntry;
  /** Length of the embedding model's vectors. */
  embeddingWidth: number;
  /** Asserts the model is up by the adapter's own evidence (`/health` 200, `/api/ps`); returns how to tell it is gone. */
  serving(entry: ModelEntry): Promise<Serving>;
  crash: CrashScript;
  close(): Promise<void>;
}

export interface AdapterHarness {
  /** Backend kind, as the test names show it. */
  name: string;
  start(): Promise<AdapterRig>;
}

export const CHAT = 'contract-chat';
export const EMB = 'contract-embed';

/** Process backends: the embedded worker or llama-server, one process per model, the generated GGUFs. */
function processHarness(kind: 'embedded' | 'llama-server'): AdapterHarness {
  return {
    name: kind,
    async start() {
      if (kind === 'llama-server') requireLlamaServer();
      const [chatFile, embFile] = await Promise.all([cachedModel(defaultChatSpec()), cachedModel(defaultEmbeddingSpec())]);
      const embInfo = await readModelInfo(embFile.path);
      // One thread each: 2 shared cores, and llama.cpp threads spin when oversubscribed. CPU only.
      const model = { backend: kind, threads: 1, gpu_layers: 0, ctx: 2048 } as const;
      const config: ConfigInput = {
        backends: { [kind]: { kind } },
        models: {
          [CHAT]: { ...model, file: chatFile.path, type: 'chat' },
          [EMB]: { ...model, file: embFile.path, type: 'embedding' },
        },
        memory: { ram: 1e12, gpu: 0, reserve: 0 },
        scheduler: { reconcile_s: 0 },
      };
      const gateway = await testGateway(config);
      const backend = gateway.backends.get(kind);
      if (!(backend instanceof ProcessBackend)) throw new Error(`backend ${kind} is not a ProcessBackend`);
      const crashes: Array<{ model: string; message: string }> = [];
      const crashWatchers: Array<() => void> = [];
      backend.onLost((model, message) => {
        crashes.push({ model, message });
        crashWatchers.splice(0).forEach((notify) => notify());
      });
      return {
        gateway,
        url: gateway.url,
        backend,
        ...entries(gateway),
        embeddingWidth: embInfo.embeddingLength!,
        async serving(entry) {
          const pid = backend.pidOf(entry.name);
          expect(pid, `${entry.name} has a live process`).toBeDefined();
          const health = await backend.forward(entry, { method: 'GET', path: '/health' });
          await readText(health.body);
          expect(health.status, `${entry.name}'s process answers /health`).toBe(200);
          return { gone: async () => backend.pidOf(entry.name) === undefined && !processExists(pid!) };
        },
        crash: {
          arm: () => {},
          strike(entry) {
            const pid = backend.pidOf(entry.name);
            expect(pid, `${entry.name} has a live process to kill`).toBeDefined();
            process.kill(pid!, 'SIGKILL');
          },
          disarm: () => {},
          code: 'WG_BACKEND_CRASHED',
          async reported(entry) {
            while (!crashes.some((c) => c.model === entry.name)) await new Promise<void>((resolve) => crashWatchers.push(resolve));
            return crashes.find((c) => c.model === entry.name)!.model;
          },
        },
        close: () => gateway.close(),
      };
    },
  };
}

/** Ollama: the adapter against the scripted daemon (a real HTTP server on port 0). */
function ollamaHarness(): AdapterHarness {
  const width = 384;
  return {
    name: 'ollama',
    async start() {
      const upstream = new FakeOllama({
        models: [
          { name: `${CHAT}:latest`, size: 40_000_000 },
          { name: `${EMB}:latest`, kind: 'embedding', size: 20_000_000, embeddingLength: width },
        ],
        hostCheck: true,
      });
      await upstream.start();
      const gateway = await testGateway({
        backends: { ollama: { kind: 'ollama', url: upstream.url, discover: false } },
        models: {
          [CHAT]: { backend: 'ollama', upstream: `${CHAT}:latest`, type: 'chat' },
          [EMB]: { backend: 'ollama', upstream: `${EMB}:latest`, type: 'embedding' },
        },
        memory: { ram: 1e12, gpu: 0, reserve: 0 },
        scheduler: { reconcile_s: 0 },
      });
      const backend = gateway.backends.get('ollama');
      if (!(backend instanceof OllamaBackend)) throw new Error('backend ollama is not an OllamaBackend');
      const listed = async (entry: ModelEntry) => (await backend.running()).some((m) => m.name === entry.upstream || m.model === entry.upstream);
      return {
        gateway,
        url: gateway.url,
        backend,
        ...entries(gateway),
        embeddingWidth: width,
        async serving(entry) {
          expect(await listed(entry), `${entry.upstream} is in /api/ps`).toBe(true);
          return { gone: async () => !(await listed(entry)) };
        },
        crash: {
          // The daemon's connection drops after two lines of the reply.
          arm: () => {
            upstream.crashMidStream = 2;
          },
          strike: () => {},
          disarm: () => {
            upstream.crashMidStream = undefined;
          },
          code: 'WG_BACKEND_CRASHED',
        },
        async close() {
          await gateway.close();
          await upstream.close();
        },
      };
    },
  };
}

function entries(gateway: RunningGateway): { chat: ModelEntry; emb: ModelEntry } {
  const known = gateway.registry.known();
  const find = (name: string) => {
    const entry = known.find((e) => e.name === name);
    if (!entry) throw new Error(`model ${name} is not registered`);
    return entry;
  };
  return { chat: find(CHAT), emb: find(EMB) };
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every adapter the contract runs on. */
export const ADAPTERS: AdapterHarness[] = [processHarness('embedded'), processHarness('llama-server'), ollamaHarness()];
