import { admission } from '../admission.js';
import { hostname } from 'node:os';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { allowedHost, hostCheck, hostName } from './host-check.js';

function app(listen: string): Hono {
  const a = new Hono();
  a.use('*', admission([hostCheck({ listen })]));
  a.all('*', (c) => c.text('ok'));
  return a;
}

describe('Host check (DNS rebinding)', () => {
  it('takes the name out of a Host header: port stripped, lower-cased, IPv6 brackets kept', () => {
    expect(hostName('LocalHost:11435')).toBe('localhost');
    expect(hostName('[::1]:11435')).toBe('[::1]');
    expect(hostName('[::1]')).toBe('[::1]');
    expect(hostName('::1')).toBe('::1');
    expect(hostName('')).toBe('');
  });

  it('allows this machine\'s names and local addresses, as Ollama does', () => {
    for (const h of ['', 'localhost', 'localhost:3000', '127.0.0.1:11435', '[::1]:11435', 'app.localhost', 'printer.local', 'host.docker.internal:11435',
      '192.168.1.20', '10.0.0.7:80', '0.0.0.0', hostname(), `${hostname().toUpperCase()}:1`]) {
      expect(allowedHost(h), h).toBe(true);
    }
    for (const h of ['evil.example.com', 'evil.example.com:11435', 'localhost.evil.example', '8.8.8.8', '[2001:4860::8888]:80', 'local', 'x.localhost.com']) {
      expect(allowedHost(h), h).toBe(false);
    }
  });

  it('answers 403 to a foreign Host while listening on loopback, in the caller\'s dialect', async () => {
    const a = app('127.0.0.1');
    const ollama = await a.request('/api/tags', { headers: { host: 'evil.example.com:11435' } });
    expect(ollama.status).toBe(403);
    expect((await ollama.json()).error).toMatch(/evil\.example\.com/);
    const openai = await a.request('/v1/models', { headers: { host: 'evil.example.com' } });
    expect(openai.status).toBe(403);
    expect(await openai.json()).toMatchObject({ error: { type: 'permission_error', code: 'WG_FORBIDDEN' } });
    expect((await a.request('/api/tags', { headers: { host: 'localhost:11435' } })).status).toBe(200);
    expect((await a.request('/api/tags')).status).toBe(200);
  });

  it('lets every Host through when listening beyond loopback', async () => {
    for (const listen of ['0.0.0.0', '::', '192.168.1.5']) {
      expect((await app(listen).request('/api/tags', { headers: { host: 'evil.example.com' } })).status, listen).toBe(200);
    }
  });
});
