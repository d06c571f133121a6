import { describe, expect, it } from 'vitest';
import { Metrics } from '../telemetry/metrics.js';
import { RequestTimer } from '../telemetry/timer.js';
import type { RequestRecord } from '../telemetry/record.js';
import { noteEvent } from './accounting.js';

describe('a backend reporting a count no count can be', () => {
  it('leaves the count unknown and the request a success, and the metrics do not throw', () => {
    const finished: RequestRecord[] = [];
    const timer = new RequestTimer('ollama', '/api/chat', (r) => finished.push(r));
    noteEvent(timer, { type: 'done', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: -7 }, timings: { genMs: 10 } });
    timer.finish(200);
    expect(finished[0]).toMatchObject({ status: 200, prompt_tokens: 3 });
    expect(finished[0].gen_tokens).toBeUndefined();
    expect(finished[0].tokens_per_s).toBeUndefined();
    const metrics = new Metrics();
    expect(() => metrics.observe({ ...finished[0], gen_tokens: -7 })).not.toThrow();
  });
});
