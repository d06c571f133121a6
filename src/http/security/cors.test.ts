import { admission } from '../admission.js';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ALLOWED_HEADERS, cors } from './cors.js';

function app(origins: string[] = []): { app: Hono; hits: string[] } {
  const hits: string[] = [];
  const a = new Hono();
  a.use('*', admission([cors({ origins })]));
  a.all('*', (c) => {
    hits.push(`${c.req.method} ${c.req.path}`);
    return c.json({ ok: true });
  });
  return { app: a, hits };
}

describe('cors (origin allow-list)', () => {
  it('passes a request without Origin untouched', async () => {
    const { app: a, hits } = app();
    const res = await a.request('/api/tags');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(hits).toEqual(['GET /api/tags']);
  });

  it('refuses a disallowed origin with 403 before the route runs, in the caller\'s dialect', async () => {
    const { app: a, hits } = app();
    const res = await a.request('/warmgate/models/m/unload', { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: '{}' });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatch(/https:\/\/evil\.example.*server\.origins/);
    const openai = await a.request('/v1/chat/completions', { method: 'POST', headers: { origin: 'https://evil.example' }, body: '{}' });
    expect(await openai.json()).toMatchObject({ error: { type: 'permission_error', code: 'WG_FORBIDDEN' } });
    const preflight = await a.request('/api/chat', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    expect(hits).toEqual([]);
  });

  it('answers an allowed preflight with 204 and the Access-Control headers', async () => {
    const { app: a, hits } = app();
    const res = await a.request('/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.split(',')).toEqual(ALLOWED_HEADERS);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization.*Content-Type.*x-stainless-os.*x-api-key/);
    expect(res.headers.get('access-control-max-age')).toBe('43200');
    expect(res.headers.get('vary')).toContain('Origin');
    expect(res.headers.get('access-control-allow-private-network')).toBeNull();
    expect(hits).toEqual([]);
  });

  it('grants Chrome\'s private-network preflight to an allowed origin', async () => {
    const { app: a } = app(['https://chat.example.com']);
    const res = await a.request('/api/chat', {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example.com', 'access-control-request-method': 'POST', 'access-control-request-private-network': 'true' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-private-network')).toBe('true');
  });

  it('lets an allowed origin through with Access-Control-Allow-Origin and Vary: Origin', async () => {
    const { app: a, hits } = app(['https://chat.example.com']);
    for (const origin of ['http://127.0.0.1:5173', 'https://chat.example.com', 'chrome-extension://abcdef']) {
      const res = await a.request('/api/chat', { method: 'POST', headers: { origin }, body: '{}' });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('vary')).toBe('Origin');
      expect(res.headers.get('access-control-expose-headers')).toContain('Server-Timing');
    }
    expect(hits).toHaveLength(3);
  });

  it('treats an Origin naming the request\'s own Host as same-origin', async () => {
    const { app: a, hits } = app();
    const res = await a.request('/api/chat', { method: 'POST', headers: { origin: 'http://192.168.1.5:11435', host: '192.168.1.5:11435' }, body: '{}' });
    expect(res.status).toBe(200);
    expect(hits).toHaveLength(1);
  });
});
