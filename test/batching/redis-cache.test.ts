/**
 * The embedding cache shared through a real redis-server (Debian's, installed by the test's
 * start-up when missing): two gateway replicas in front of one scripted Ollama daemon, in
 * this process and as `warmgate serve` processes run with the README's replica config.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/app/server.js';
import { RedisEmbeddingStore, decodeVector } from '../../src/batching/redis-embedding-store.js';
import { FakeOllama } from '../fakes/ollama-upstream.js';
import { postJson, testGateway } from '../support/gateway.js';
import { killed, serveProcess } from '../support/processes.js';
import { gatewayStatus, latestRecord, until } from '../support/records.js';
import { RedisServer } from '../support/redis-server.js';
import { EMBED, texts } from './rig.js';

const PREFIX = 'warmgate:embed:v1:';

/** Bit-for-bit equality of two vectors (Object.is tells -0 from 0). */
function bitExact(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));
}

/** A recording logger: what an outage writes. */
function recordingLog() {
  const lines: string[] = [];
  return { lines, warn: (_: object, msg: string) => lines.push(`warn ${msg}`), info: (_: object, msg: string) => lines.push(`info ${msg}`) };
}

describe('the embedding cache shared through Redis', () => {
  let redis: RedisServer;
  let client: Redis;
  let fake: FakeOllama;
  /** Replicas and stores a test made, closed after it whatever its outcome. */
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined); // the kill test's outage: this client waits it out
    fake = new FakeOllama({ models: [{ name: EMBED, kind: 'embedding', embeddingLength: 8 }] });
    await fake.start();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((part) => part.close()));
    if (client.status === 'ready') await client.flushdb();
    fake.requests.length = 0;
  });
  afterAll(async () => {
    client?.disconnect();
    await fake?.close();
    await redis?.stop();
  });

  /** A replica with the shared cache, once it is connected to Redis. */
  async function replica(batching: Record<string, unknown> = {}): Promise<RunningGateway> {
    const gw = await testGateway({ backends: { ollama: { kind: 'ollama', url: fake.url } }, batching: { window_ms: 0, cache: redis.url, ...batching } });
    opened.push(gw);
    await available(gw);
    return gw;
  }
  const available = (gw: { url: string }) => until(() => gatewayStatus(gw.url), (s) => s.embeddings.cache.redis?.available === true);
  const embedCalls = () => fake.requests.filter((r) => r.path === '/api/embed' && ((r.body as { input?: unknown[] }).input ?? []).length > 0);
  const embed = async (gw: { url: string }, input: string | string[], init?: RequestInit) => {
    const reply = await postJson(`${gw.url}/api/embed`, { model: EMBED, input }, init);
    expect(reply.status).toBe(200);
    return reply.body.embeddings as number[][];
  };
  /** Resolves once Redis holds `count` entries (replicas write without waiting for the reply). */
  const stored = (count: number) => until(() => client.keys(`${PREFIX}*`), (keys) => keys.length >= count);

  it('an embedding one replica fetched is a cache hit on the other, bit-exact, with the TTL set', async () => {
    const [a, b] = [await replica({ cache_ttl_s: 3600 }), await replica({ cache_ttl_s: 3600 })];
    const [text] = texts(1, 'shared');
    const [fromA] = await embed(a, text);
    const [key] = await stored(1);

    const [fromB] = await embed(b, text);
    expect(embedCalls()).toHaveLength(1);
    expect(bitExact(fromB, fromA)).toBe(true);
    expect(await latestRecord(b.url, '/api/embed')).toMatchObject({ cache_hit: true });
    expect((await gatewayStatus(b.url)).embeddings.cache).toMatchObject({ kind: 'redis', hits: 1, misses: 0, errors: 0, redis: { hits: 1, available: true } });
    // The value is the vector's Float64 bytes; it lives for cache_ttl_s.
    expect(bitExact(decodeVector((await client.getBuffer(key))!)!, fromA)).toBe(true);
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    // /metrics says which cache and how it did.
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toContain('warmgate_embedding_cache_lookups_total{kind="redis",result="hit"} 1');
    expect(metrics).toContain('warmgate_embedding_cache_available{kind="redis"} 1');
  });

  it('keeps values bit-exact: -0, subnormals, the largest double, every last bit', async () => {
    const log = recordingLog();
    const options = { url: redis.url, ttlS: 60, timeoutMs: 1000, localBytes: 0, log };
    const [writer, reader] = [new RedisEmbeddingStore(options), new RedisEmbeddingStore(options)];
    opened.push(writer, reader);
    await until(async () => [writer.stats(), reader.stats()], (s) => s.every((x) => x.redis?.available));
    const vector = [-0, 0, 5e-324, 2.2250738585072014e-308, 0.1 + 0.2, -1 / 3, 1.7976931348623157e308, -Number.MAX_VALUE];
    writer.fill('m', { truncate: true }, ['text'], [vector]);
    await stored(1);
    const lookup = await reader.lookup('m', { truncate: true }, ['text', 'other']);
    expect(lookup.cached).toBe(1);
    const [hit, miss] = lookup.merge([[7]]);
    expect(bitExact(hit, vector)).toBe(true);
    expect(miss).toEqual([7]);
    expect((await reader.lookup('m', { truncate: false }, ['text'])).cached).toBe(0); // options are part of the key
  });

  it('warns at connect when nothing but the TTL bounds the cache (no maxmemory)', async () => {
    await client.config('SET', 'maxmemory', '0');
    try {
      const log = recordingLog();
      opened.push(new RedisEmbeddingStore({ url: redis.url, ttlS: 60, timeoutMs: 1000, localBytes: 0, log }));
      await until(async () => log.lines, (lines) => lines.length > 0);
      expect(log.lines).toEqual(['warn embedding cache: Redis has no maxmemory, so only the TTL bounds the cache; set maxmemory and maxmemory-policy allkeys-lru']);
    } finally {
      await client.config('SET', 'maxmemory', '64mb');
    }
  });

  it('Redis killed mid-run: requests still succeed as misses, one warning, and sharing resumes after a restart', async () => {
    const [a, b] = [await replica(), await replica()];
    // A store beside them whose log we read (the replicas' logs are silenced).
    const log = recordingLog();
    const watcher = new RedisEmbeddingStore({ url: redis.url, ttlS: 60, timeoutMs: 50, localBytes: 0, log });
    opened.push(watcher);
    const inputs = texts(3, 'outage');
    await embed(a, inputs[0]);
    await stored(1);

    await redis.kill();
    await until(() => gatewayStatus(b.url), (s) => s.embeddings.cache.redis?.available === false);
    await until(async () => watcher.stats(), (s) => s.errors >= 2); // reconnects refused, twice at least
    // B never saw inputs[0] and Redis is gone: a miss, answered by the backend.
    await embed(b, inputs[0]);
    await embed(b, inputs[1]);
    expect(embedCalls()).toHaveLength(3);
    const down = (await gatewayStatus(b.url)).embeddings.cache;
    expect(down).toMatchObject({ kind: 'redis', hits: 0, misses: 2, redis: { available: false } });

    await redis.restart();
    await Promise.all([available(a), available(b), until(async () => watcher.stats(), (s) => s.redis?.available === true)]);
    expect(log.lines).toEqual([
      'warn embedding cache: Redis unavailable, embeddings are computed without it until it answers again',
      'info embedding cache: Redis answers again',
    ]);
    await embed(a, inputs[2]);
    await stored(1);
    await embed(b, inputs[2]);
    expect(embedCalls()).toHaveLength(4);
    expect(await latestRecord(b.url, '/api/embed')).toMatchObject({ cache_hit: true });
  });

  it('a Redis that stops answering costs a lookup its timeout at most, logs one warning, and is used again once it answers', async () => {
    const log = recordingLog();
    const store = new RedisEmbeddingStore({ url: redis.url, ttlS: 60, timeoutMs: 50, localBytes: 0, log });
    opened.push(store);
    try {
      await until(async () => store.stats(), (s) => s.redis?.available === true);
      store.fill('m', {}, ['kept'], [[1, 2]]);
      await stored(1);

      redis.pause();
      const lookups = await Promise.all(['kept', 'kept', 'other'].map((input) => store.lookup('m', {}, [input])));
      expect(lookups.map((l) => l.cached)).toEqual([0, 0, 0]);
      expect(store.stats()).toMatchObject({ misses: 3, redis: { available: false } });
      expect(store.stats().errors).toBeGreaterThan(0);
      // While it is out, lookups skip it: no timeout, no call.
      expect(store.lookup('m', {}, ['kept'])).not.toBeInstanceOf(Promise);

      redis.resume();
      await until(async () => store.stats(), (s) => s.redis?.available === true);
      expect((await store.lookup('m', {}, ['kept'])).cached).toBe(1);
      expect(log.lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
      expect(log.lines.filter((l) => l.startsWith('info'))).toHaveLength(1);
    } finally {
      redis.resume();
    }
  });

  describe('front replicas as their own processes, on the README\'s replica config', () => {
    const KEY = 'replicas-test-key-0123456789abcdef';
    const AUTH = { headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` } };
    let dir: string;
    let config: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'warmgate-replicas-'));
      config = join(dir, 'replica.yaml');
      // The one setting changed: on a busy 2-core CI machine a 50 ms budget is sometimes missed,
      // and a miss would send the backend the call these tests count on it not getting.
      const readme = await readmeReplicaConfig({
        'redis://redis.internal:6379/0': redis.url, 'http://gpu1.internal:11434': fake.url, 'cache_timeout_ms: 50 ': 'cache_timeout_ms: 2000 ',
      });
      await writeFile(config, `${readme}data_dir: ${dir}\n`); // its run dir, not the repository's
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** A replica as the README starts one (the file, the key in the environment), once Redis answers it; SIGKILLed after the test. */
    async function serveReplica(): Promise<{ url: string; kill(): Promise<void> }> {
      const { child, url } = await serveProcess(config, { env: { ...process.env, WARMGATE_API_KEY: KEY } });
      const replica = { url: url.replace('0.0.0.0', '127.0.0.1'), kill: () => killed(child) };
      opened.push({ close: replica.kill });
      await available(replica);
      return replica;
    }
    const sameVectors = (a: number[][], b: number[][]) => a.length === b.length && a.every((v, i) => bitExact(v, b[i]));

    it('texts one replica embedded are a cache hit on the other: no backend call, bit-exact, counted as Redis hits', async () => {
      const [a, b] = await Promise.all([serveReplica(), serveReplica()]);
      const inputs = texts(3, 'replicas');
      const fromA = await embed(a, inputs, AUTH);
      expect(embedCalls()).toHaveLength(1);
      await stored(inputs.length);

      const fromB = await embed(b, inputs, AUTH);
      expect(embedCalls()).toHaveLength(1);
      expect(sameVectors(fromB, fromA)).toBe(true);
      expect(await latestRecord(b.url, '/api/embed')).toMatchObject({ cache_hit: true });
      expect((await gatewayStatus(b.url)).embeddings.cache).toMatchObject({ kind: 'redis', hits: 3, misses: 0, errors: 0, redis: { hits: 3, available: true } });
      expect(await (await fetch(`${b.url}/metrics`)).text()).toContain('warmgate_embedding_cache_lookups_total{kind="redis",result="hit"} 3');
    });

    it('a replica SIGKILLed: the other keeps answering, and started again its first request is a hit from Redis', async () => {
      const [a, b] = await Promise.all([serveReplica(), serveReplica()]);
      const inputs = texts(3, 'restart');
      const fromA = await embed(a, inputs, AUTH);
      await stored(inputs.length);

      await a.kill();
      // B answers alone: what A embedded (from Redis) and what nobody had (from the backend).
      expect(sameVectors(await embed(b, inputs, AUTH), fromA)).toBe(true);
      await embed(b, texts(2, 'while a replica is down'), AUTH);
      expect(embedCalls()).toHaveLength(2);

      const again = await serveReplica();
      expect(sameVectors(await embed(again, inputs, AUTH), fromA)).toBe(true);
      expect(embedCalls()).toHaveLength(2);
      expect(await latestRecord(again.url, '/api/embed')).toMatchObject({ cache_hit: true });
      expect((await gatewayStatus(again.url)).embeddings.cache).toMatchObject({ hits: 3, misses: 0, redis: { hits: 3 } });
    });
  });
});

/**
 * The yaml block of the README's "Several fronts plus Redis", its example hosts replaced:
 * the replicas run what users are told to run, and a README edit that breaks it fails here.
 */
async function readmeReplicaConfig(hosts: Record<string, string>): Promise<string> {
  const readme = await readFile(join(import.meta.dirname, '../../README.md'), 'utf8');
  const at = readme.indexOf('### Several fronts plus Redis');
  let block = at < 0 ? undefined : /```yaml\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (!block) throw new Error('README.md has no yaml block under "### Several fronts plus Redis"');
  for (const [example, real] of Object.entries(hosts)) {
    if (!block.includes(example)) throw new Error(`the README's replica config no longer names ${example}`);
    block = block.replaceAll(example, real);
  }
  return block;
}
