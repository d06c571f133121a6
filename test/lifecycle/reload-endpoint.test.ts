/**
 * `POST /warmgate/reload` on a spawned gateway with API keys: it needs the admin key; the
 * keys and origins it applies are what the next request is checked against; a setting
 * that waits for a restart is named; a broken file is a 400 with start-up's message.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { defaultChatSpec } from '../../src/gguf/index.js';
import { cachedModel } from '../support/cached-model.js';
import { serveProcess } from '../support/processes.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INFERENCE = 'inference-key-0123456789ab';
const ORIGIN = 'https://app.example';
let dir: string;
let file: string;
let gateway: ChildProcess | undefined;
let url: string;
let chatFile: string;

async function writeConfig(server: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  await writeFile(file, JSON.stringify({
    data_dir: dir, log: { level: 'silent' }, server, backends: { embedded: { kind: 'embedded' } },
    models: { chat: { backend: 'embedded', file: chatFile, type: 'chat', threads: 1 } }, ...extra,
  }));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warmgate-reload-http-'));
  file = join(dir, 'config.json');
  chatFile = (await cachedModel(defaultChatSpec())).path;
  await writeConfig({ api_keys: [ADMIN, { key: INFERENCE, scope: 'inference' }] });
  ({ child: gateway, url } = await serveProcess(file, { env: { ...process.env, WARMGATE_API_KEY: '' } }));
});
afterAll(async () => {
  gateway?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const reload = (key?: string) => fetch(`${url}/warmgate/reload`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {} });
const tags = (headers: Record<string, string>) => fetch(`${url}/api/tags`, { headers });

describe('POST /warmgate/reload', () => {
  it('needs the admin key', async () => {
    expect((await reload()).status).toBe(401);
    expect((await reload(INFERENCE)).status).toBe(403);
    const ok = await reload(ADMIN);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ added: [], removed: [], changed: [], updated: [], kept: ['chat'], restart_needed: [] });
  });

  it('applies new keys and origins to the next request, and names what needs a restart', async () => {
    expect((await tags({ authorization: `Bearer ${ADMIN}`, origin: ORIGIN })).status).toBe(403);
    await writeConfig({ api_keys: [ADMIN], origins: [ORIGIN] }, { scheduler: { max_hold_ms: 1 } });
    const res = await reload(ADMIN);
    expect(await res.json()).toMatchObject({ kept: ['chat'], restart_needed: ['scheduler'] });
    expect((await tags({ authorization: `Bearer ${ADMIN}`, origin: ORIGIN })).status).toBe(200);
    expect((await tags({ authorization: `Bearer ${INFERENCE}` })).status).toBe(401);
  });

  it('answers a broken file 400 with start-up\'s message, and keeps the running config', async () => {
    await writeFile(file, 'models: [unclosed');
    let expected = '';
    try {
      loadConfig({ config: file }, {});
    } catch (err) {
      expected = (err as ConfigError).message;
    }
    expect(expected).toMatch(/is not valid YAML/);
    const res = await reload(ADMIN);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expected });
    expect((await tags({ authorization: `Bearer ${ADMIN}`, origin: ORIGIN })).status).toBe(200);
  });
});
