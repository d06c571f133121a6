import { describe, expect, it } from 'vitest';
import { routeScope } from './route-scopes.js';

describe('routeScope', () => {
  it('leaves liveness and the banner open', () => {
    expect(routeScope('GET', '/')).toBe('open');
    expect(routeScope('HEAD', '/')).toBe('open');
    expect(routeScope('GET', '/warmgate/health')).toBe('open');
    expect(routeScope('GET', '/health')).toBe('open');
    expect(routeScope('POST', '/')).toBe('inference');
  });

  it('puts inference behind an inference key', () => {
    for (const [m, p] of [['POST', '/api/chat'], ['POST', '/api/generate'], ['POST', '/api/embed'], ['POST', '/api/embeddings'], ['GET', '/api/tags'],
      ['POST', '/api/show'], ['GET', '/api/ps'], ['GET', '/api/version'], ['POST', '/v1/chat/completions'], ['POST', '/v1/completions'],
      ['POST', '/v1/embeddings'], ['GET', '/v1/models'], ['GET', '/v1/models/llama3'], ['POST', '/completion'], ['POST', '/embedding'],
      ['GET', '/props'], ['POST', '/tokenize'], ['POST', '/detokenize'], ['GET', '/no/such/route']]) {
      expect(routeScope(m, p), `${m} ${p}`).toBe('inference');
    }
  });

  it('puts residency control and model management behind an admin key', () => {
    for (const [m, p] of [['POST', '/warmgate/models/llama3/load'], ['POST', '/warmgate/models/a/b:latest/unload'], ['POST', '/warmgate/reload'],
      ['POST', '/api/pull'], ['POST', '/api/push'], ['POST', '/api/create'], ['POST', '/api/copy'], ['DELETE', '/api/delete'],
      ['POST', '/api/blobs/sha256:abc'], ['HEAD', '/api/blobs/sha256:abc'], ['POST', '/warmgate/status'], ['GET', '/warmgate/anything']]) {
      expect(routeScope(m, p), `${m} ${p}`).toBe('admin');
    }
  });

  it('keeps the read-only pages for loopback peers (or any key)', () => {
    for (const p of ['/warmgate', '/warmgate/status', '/warmgate/requests']) expect(routeScope('GET', p), p).toBe('local');
  });

  it('puts /metrics behind an admin key only when metrics_need_key', () => {
    expect(routeScope('GET', '/metrics')).toBe('open');
    expect(routeScope('GET', '/metrics', { metricsNeedKey: true })).toBe('admin');
  });
});
