/**
 * SIGHUP reloads the config of a running `warmgate serve` with real workers: a changed
 * model is reloaded once its stream in flight has ended (the stream completes; a request
 * sent meanwhile waits for the new load), an unchanged one keeps its worker, an added one
 * is served at once; a broken file is refused with start-up's message and changes nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChildren } from '../../src/backends/process/leftovers.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { defaultChatSpec, defaultEmbeddingSpec } from '../../src/gguf/index.js';
import { modelState } from '../engine-e2e/engine-harness.js';
import { cachedModel } from '../support/cached-model.js';
import { postJson } from '../support/gateway.js';
import { serveProcess } from '../support/processes.js';
import { gatewayStatus } from '../support/records.js';

let dir: string;
let file: string;
let gateway: ChildProcess | undefined;
let url: string;
let chatFile: string;
let embFile: string;
/** Lines the gateway wrote to stderr since the last `nextLine`. */
const lines: string[] = [];
let wake: (() => void) | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-reload-'));
  file = join(dir, 'config.json');
  [chatFile, embFile] = (await Promise.all([cachedModel(defaultChatSpec()), cachedModel(defaultEmbeddingSpec())])).map((m) => m.path);
  await writeConfig({ chat: { ctx: 4096 } });
  ({ child: gateway, url } = await serveProcess(file, { onLine: (line) => (lines.push(line), wake?.()) }));
});
afterAll(async () => {
  gateway?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(models: Record<string, Record<string, unknown>>): Promise<void> {
  const base = { backend: 'embedded', threads: 1, file: chatFile, type: 'chat' };
  const all = { emb: { file: embFile, type: 'embedding' }, ...models };
  await writeFile(file, JSON.stringify({
    data_dir: dir, log: { level: 'silent' }, backends: { embedded: { kind: 'embedded' } },
    models: Object.fromEntries(Object.entries(all).map(([name, m]) => [name, { ...base, ...m }])),
  }));
}

/** The next stderr line matching `pattern`. */
async function nextLine(pattern: RegExp): Promise<string> {
  for (;;) {
    const i = lines.findIndex((l) => pattern.test(l));
    if (i >= 0) return lines.splice(0, i + 1).at(-1)!;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

/**
 * A streamed /api/chat long enough to be in flight across the reload (3000 tokens: seconds
 * even on a fast machine, against the milliseconds a reload takes); resolves with its first
 * line and the rest to come.
 */
async function longStream(): Promise<{ first: Record<string, unknown>; rest: Promise<Array<Record<string, unknown>>> }> {
  const res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'go on' }], options: { num_predict: 3000 } }) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  const readLine = async (): Promise<Record<string, unknown> | undefined> => {
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        return JSON.parse(line) as Record<string, unknown>;
      }
      const { value, done } = await reader.read();
      if (done) return undefined;
      text += new TextDecoder().decode(value);
    }
  };
  const first = (await readLine())!;
  const rest = (async () => {
    const out: Array<Record<string, unknown>> = [];
    for (let line = await readLine(); line; line = await readLine()) out.push(line);
    return out;
  })();
  return { first, rest };
}

const workers = () => liveChildren(join(dir, 'run'));

describe('SIGHUP', () => {
  it('reloads a changed model once its stream has ended, keeps the others, serves an added one, drops nothing', async () => {
    const embed = await postJson(`${url}/api/embed`, { model: 'emb', input: 'kept warm' });
    expect(embed.status).toBe(200);
    const live = await longStream();
    expect(live.first).toMatchObject({ done: false });
    const before = workers();
    expect(before).toHaveLength(2);

    await writeConfig({ chat: { ctx: 2048 }, chat2: {} });
    gateway!.kill('SIGHUP');
    expect(await nextLine(/config reload/)).toBe('warmgate: config reloaded: added chat2; changed (reloaded once idle) chat; kept emb');
    const status = await gatewayStatus(url);
    // Still streaming on the old worker: stale, so a request sent now waits for the new load.
    expect(modelState(status, 'chat')).toMatchObject({ state: 'ready', stale: true, inFlight: 1 });
    const queued = postJson(`${url}/api/chat`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 4 } });
    const added = await postJson(`${url}/api/chat`, { model: 'chat2', messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 4 } });
    expect(added.status).toBe(200);

    expect((await live.rest).at(-1)).toMatchObject({ done: true });
    expect((await queued).status).toBe(200);
    const after = workers();
    // emb kept its worker; chat runs in a new one (ctx 2048), chat2 in its own.
    expect(after.map((w) => w.pid)).toContain(before.find((w) => w.argv.includes(embFile))!.pid);
    const chatWorkers = after.filter((w) => w.argv.includes(chatFile));
    expect(chatWorkers).toHaveLength(2);
    expect(chatWorkers.map((w) => w.pid)).not.toContain(before.find((w) => w.argv.includes(chatFile))!.pid);
  });

  it('refuses a broken config with start-up\'s message while a stream is in flight, and keeps serving the old one', async () => {
    const live = await longStream();
    await writeFile(file, JSON.stringify({ data_dir: dir, models: { chat: { backend: 'embedded', file: chatFile, ctx: 'big' } } }));
    const expected = (() => {
      try {
        loadConfig({ config: file }, {});
      } catch (err) {
        if (err instanceof ConfigError) return err.message;
      }
      throw new Error('the broken config was accepted');
    })();
    gateway!.kill('SIGHUP');
    const line = await nextLine(/config reload/);
    expect(line).toBe(`warmgate: config reload refused; the running config stays: ${expected.split('\n')[0]}`);
    expect(await nextLine(/ctx/)).toContain('models.chat.ctx');
    expect((await live.rest).at(-1)).toMatchObject({ done: true });
    // chat2, from the config in force, still answers.
    expect((await postJson(`${url}/api/chat`, { model: 'chat2', messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 4 } })).status).toBe(200);
    expect(gateway!.exitCode).toBeNull();
  });
});
