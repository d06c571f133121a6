import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, validateConfig } from './load.js';

const KEY = '0123456789abcdef-admin';

describe('security config', () => {
  it('defaults: no extra origins, no keys, /metrics open', () => {
    expect(validateConfig({}, 'test').server).toMatchObject({ origins: [], api_keys: [], metrics_need_key: false });
  });

  it('a bare key is an admin key; an object names its scope', () => {
    const config = validateConfig({ server: { api_keys: [KEY, { key: 'fedcba9876543210-infer', scope: 'inference' }] } }, 'test');
    expect(config.server.api_keys).toEqual([{ key: KEY, scope: 'admin' }, { key: 'fedcba9876543210-infer', scope: 'inference' }]);
  });

  it('refuses a key under 16 characters, a placeholder, a key with spaces and an unknown scope, naming the key but never showing it', () => {
    const raw = { server: { api_keys: ['short-key', 'sk-no-key-required', 'has a space in the key', { key: KEY, scope: 'root' }] } };
    let message = '';
    try {
      validateConfig(raw, 'warmgate.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain('server.api_keys.0.key: an API key must be at least 16 characters');
    expect(message).toContain('got a 9-character key');
    expect(message).toContain('server.api_keys.1.key: this is what clients send when they have no key');
    expect(message).toContain('server.api_keys.2.key: an API key may hold only printable ASCII characters');
    expect(message).toMatch(/server\.api_keys\.3\.scope: .*"inference"\|"admin"/);
    for (const secret of ['short-key', 'sk-no-key-required', 'has a space', KEY]) expect(message).not.toContain(secret);
  });

  it('WARMGATE_API_KEY adds an admin key and WARMGATE_ORIGINS more origins; empty values add nothing', () => {
    const config = loadConfig({}, { WARMGATE_API_KEY: KEY, WARMGATE_ORIGINS: 'https://chat.example.com, http://192.168.1.5:*,' });
    expect(config.server.api_keys).toEqual([{ key: KEY, scope: 'admin' }]);
    expect(config.server.origins).toEqual(['https://chat.example.com', 'http://192.168.1.5:*']);
    expect(loadConfig({}, { WARMGATE_API_KEY: '', WARMGATE_ORIGINS: '' }).server).toMatchObject({ api_keys: [], origins: [] });
  });

  it('a short WARMGATE_API_KEY is refused by name, without showing it', () => {
    expect(() => loadConfig({}, { WARMGATE_API_KEY: 'secret' })).not.toThrow(/secret/);
    expect(() => loadConfig({}, { WARMGATE_API_KEY: 'secret' })).toThrow(/WARMGATE_API_KEY: an API key must be at least 16 characters .*; got a 6-character key/);
  });
});

describe('embedding cache config', () => {
  it('batching.cache is a size (the in-process LRU) or a Redis URL; a bad one is refused without its password', () => {
    expect(validateConfig({ batching: { cache: '8MiB' } }, 't').batching.cache).toBe(8 * 1024 ** 2);
    expect(validateConfig({ batching: { cache: 'rediss://user:pw@cache.internal:6380/2' } }, 't').batching).toMatchObject({
      cache: 'rediss://user:pw@cache.internal:6380/2', cache_ttl_s: 86400, cache_timeout_ms: 50, cache_local: 16 * 1024 ** 2,
    });
    expect(() => validateConfig({ batching: { cache: 'redis://user:pw@cache.internal/db' } }, 't')).toThrow(/batching.cache: expected a Redis URL like redis:\/\/host:6379\/0 .*; got "redis:\/\/user:\*\*\*@cache.internal\/db"/);
    expect(() => validateConfig({ batching: { cache: 'memcached://h' } }, 't')).toThrow(/expected a size like 64MiB \(0 disables the cache\) or a Redis URL/);
  });
});

describe('the config files shipped in config/', () => {
  for (const file of ['warmgate.example.yaml', 'compose.yaml', 'docker.yaml']) {
    it(`${file} is a valid config as shipped`, () => {
      expect(() => loadConfig({ config: new URL(`../../config/${file}`, import.meta.url).pathname }, {})).not.toThrow();
    });
  }
});
