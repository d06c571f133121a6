import { describe, expect, it } from 'vitest';
import { Metrics, type MemoryView } from './metrics.js';

const model = (name: string, state: string, queued: number, inFlight: number): MemoryView['models'][number] =>
  ({ name, state, queued, inFlight, maxParallel: 4, heldBytes: { 'ollama:gpu': 100 } });

describe('per-host gauges', () => {
  it('say which models are resident, their queues and slots, and each budgeted pool free room', async () => {
    const metrics = new Metrics();
    const view: MemoryView = {
      pools: [{ name: 'ram', budget: 1000, used: 300 }, { name: 'ollama:gpu', budget: undefined, used: 100 }],
      models: [model('chat:latest', 'ready', 3, 4), model('embed:latest', 'loading', 1, 0)],
    };
    metrics.watchMemory(() => view);
    const text = await metrics.registry.metrics();
    expect(text).toContain('warmgate_pool_free_bytes{pool="ram"} 700');
    expect(text).not.toContain('warmgate_pool_free_bytes{pool="ollama:gpu"}');
    expect(text).toContain('warmgate_model_resident{model="chat:latest"} 1');
    expect(text).toContain('warmgate_model_resident{model="embed:latest"} 0');
    expect(text).toContain('warmgate_model_queue_depth{model="chat:latest"} 3');
    expect(text).toContain('warmgate_model_in_flight{model="chat:latest"} 4');
    expect(text).toContain('warmgate_model_slots{model="embed:latest"} 4');
    expect(text).toMatch(/# HELP warmgate_model_queue_depth Requests waiting for a model/);
  });
});

describe('a scrape', () => {
  it('views the residency once for all of its memory gauges', async () => {
    const metrics = new Metrics();
    let views = 0;
    metrics.watchMemory(() => {
      views++;
      return { pools: [{ name: 'ram', budget: 1000, used: 300 }], models: [model('chat:latest', 'ready', 0, 1)] };
    });
    const text = await metrics.text();
    expect(text).toContain('warmgate_pool_used_bytes{pool="ram"} 300');
    expect(text).toContain('warmgate_model_in_flight{model="chat:latest"} 1');
    expect(views).toBe(1);
  });
});
