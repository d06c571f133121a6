import { admission } from '../admission.js';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { apiKeys } from './api-keys.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INFER = 'inference-key-0123456789ab';
const KEYS = [{ key: ADMIN, scope: 'admin' as const }, { key: INFER, scope: 'inference' as const }];

function app(options: Parameters<typeof apiKeys>[0] = { keys: KEYS }): Hono {
  const a = new Hono();
  a.use('*', admission([apiKeys(options)]));
  a.all('*', (c) => c.json({ ok: true }));
  return a;
}

/** A request as Node would hand it over, from `peer`. */
async function send(a: Hono, method: string, path: string, headers: Record<string, string> = {}, peer = '127.0.0.1'): Promise<Response> {
  return a.request(path, { method, headers }, { incoming: { headers, socket: { remoteAddress: peer } } });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('apiKeys', () => {
  it('with no key configured, lets everything through', async () => {
    const a = app({ keys: [] });
    for (const [m, p] of [['POST', '/api/chat'], ['POST', '/warmgate/models/m/unload'], ['POST', '/api/pull'], ['GET', '/warmgate/status']]) {
      expect((await send(a, m, p, {}, '203.0.113.9')).status, p).toBe(200);
    }
  });

  it('answers 401 with WWW-Authenticate: Bearer to no key, a placeholder or a wrong key, in the caller\'s dialect', async () => {
    const a = app();
    for (const headers of [{} as Record<string, string>, bearer('null'), bearer(''), bearer('sk-no-key'), bearer('wrong-key-0123456789abcdef'), { 'x-api-key': 'nope' }]) {
      const res = await send(a, 'POST', '/api/chat', headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(typeof (await res.json()).error).toBe('string');
    }
    const openai = await send(a, 'POST', '/v1/chat/completions', bearer('null'));
    expect(openai.status).toBe(401);
    expect(await openai.json()).toMatchObject({ error: { type: 'authentication_error', code: 'WG_UNAUTHORIZED' } });
    const llama = await send(a, 'POST', '/completion');
    expect(await llama.json()).toMatchObject({ error: { type: 'authentication_error', code: 401 } });
  });

  it('never echoes a presented key', async () => {
    const wrong = 'wrong-key-0123456789abcdef';
    const res = await send(app(), 'POST', '/api/chat', bearer(wrong));
    expect(await res.text()).not.toContain(wrong);
  });

  it('an inference key opens inference routes, not admin ones (403)', async () => {
    const a = app();
    for (const p of ['/api/chat', '/api/embed', '/v1/chat/completions', '/completion']) expect((await send(a, 'POST', p, bearer(INFER))).status, p).toBe(200);
    expect((await send(a, 'GET', '/api/tags', { 'x-api-key': INFER })).status).toBe(200);
    for (const [m, p] of [['POST', '/warmgate/models/m/unload'], ['POST', '/api/pull'], ['DELETE', '/api/delete'], ['POST', '/warmgate/reload']]) {
      const res = await send(a, m, p, bearer(INFER));
      expect(res.status, p).toBe(403);
      expect((await res.json()).error).toMatch(/needs an admin key; this key's scope is inference/);
    }
  });

  it('an admin key opens both', async () => {
    const a = app();
    for (const [m, p] of [['POST', '/api/chat'], ['POST', '/warmgate/models/m/unload'], ['POST', '/api/pull'], ['POST', '/api/blobs/sha256:00']]) {
      expect((await send(a, m, p, bearer(ADMIN))).status, p).toBe(200);
    }
    expect((await send(a, 'POST', '/api/create', { 'x-api-key': ADMIN })).status).toBe(200);
  });

  it('keeps liveness open to anyone', async () => {
    const a = app();
    for (const [m, p] of [['GET', '/'], ['HEAD', '/'], ['GET', '/warmgate/health'], ['GET', '/health'], ['GET', '/metrics']]) {
      expect((await send(a, m, p, {}, '203.0.113.9')).status, p).toBe(200);
    }
  });

  it('keeps the read-only pages open on loopback only; any valid key opens them from elsewhere', async () => {
    const a = app();
    for (const p of ['/warmgate', '/warmgate/status', '/warmgate/requests']) {
      for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect((await send(a, 'GET', p, {}, peer)).status, `${p} from ${peer}`).toBe(200);
      expect((await send(a, 'GET', p, {}, '192.168.1.7')).status, p).toBe(401);
      expect((await send(a, 'GET', p, bearer(INFER), '192.168.1.7')).status, p).toBe(200);
    }
  });

  it('puts /metrics behind an admin key with metrics_need_key', async () => {
    const a = app({ keys: KEYS, metricsNeedKey: true });
    expect((await send(a, 'GET', '/metrics')).status).toBe(401);
    expect((await send(a, 'GET', '/metrics', bearer(INFER))).status).toBe(403);
    expect((await send(a, 'GET', '/metrics', bearer(ADMIN))).status).toBe(200);
  });

  it('classifies the path the router matches: an encoded or dotted admin path is still admin', async () => {
    const a = new Hono();
    a.use('*', admission([apiKeys({ keys: KEYS })]));
    a.post('/api/pull', (c) => c.text('pulled'));
    for (const p of ['/api/%70ull', '/api/./pull', '/api/x/../pull']) {
      const res = await a.request(`http://localhost${p}`, { method: 'POST', headers: bearer(INFER) });
      expect(res.status, p).toBe(403);
    }
  });
});
