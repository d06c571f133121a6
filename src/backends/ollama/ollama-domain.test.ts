import { describe, expect, it } from 'vitest';
import { reportedMemory, type RunningModel } from '../backend.js';
import { displacedBy, OllamaDomain } from './ollama-domain.js';

const GB = 1e9;

function ps(name: string, size: number, sizeVram = size): RunningModel {
  return {
    name, model: name, size, size_vram: sizeVram, digest: '', modified_at: '', expires_at: '',
    details: { format: 'gguf', family: 'llama', parameter_size: '8B', quantization_level: 'Q4_K_M' },
  };
}

describe('an Ollama daemon as a memory domain', () => {
  it('has pools of its own, unbounded until configured; only ram means no GPU', () => {
    expect(new OllamaDomain('gpu-box', {}).budgets).toEqual({ 'gpu-box:gpu': Infinity, 'gpu-box:ram': Infinity });
    expect(new OllamaDomain('gpu-box', { gpu: 24 * GB }).budgets).toEqual({ 'gpu-box:gpu': 24 * GB, 'gpu-box:ram': Infinity });
    expect(new OllamaDomain('cpu-box', { ram: 32 * GB }).budgets).toEqual({ 'cpu-box:gpu': 0, 'cpu-box:ram': 32 * GB });
  });

  it('places a model as Ollama does: on the GPU as far as it fits, the rest in its RAM', () => {
    const domain = new OllamaDomain('o', { gpu: 10 * GB });
    expect(domain.footprint(4 * GB)).toEqual({ totalBytes: 4.6 * GB, ramPool: 'o:ram', gpu: { pool: 'o:gpu', layers: 1, offloadableBytes: 4.6 * GB, overheadBytes: 0 } });
    expect(domain.footprint(20 * GB).gpu?.offloadableBytes).toBe(10 * GB);
    expect(new OllamaDomain('o', { ram: 8 * GB }).footprint(4 * GB).gpu?.offloadableBytes).toBe(0);
  });

  it("takes /api/ps's figures as exact, split as the daemon placed the model", () => {
    expect(reportedMemory(ps('a', 20 * GB, 16 * GB))).toEqual({ gpu: 16 * GB, ram: 4 * GB, exact: true });
  });

  it('reads which models a load displaced, out of all that were resident before it', () => {
    const before = [ps('chat:latest', 12 * GB), ps('tiny:latest', GB)];
    expect(displacedBy('embed', before, [ps('tiny:latest', GB), ps('embed:latest', 11 * GB)]))
      .toEqual({ dropped: ['chat:latest'], before: ['chat:latest', 'tiny:latest'] });
    expect(displacedBy('embed', before, [...before, ps('embed:latest', 2 * GB)])).toBeUndefined();
    // A reload of the model itself (new options) displaces nothing.
    expect(displacedBy('chat', before, [ps('tiny:latest', GB), ps('chat:latest', 12 * GB)])).toBeUndefined();
  });

  it('tells its listeners what to forget', () => {
    const domain = new OllamaDomain('o', {});
    const heard: Array<string | undefined> = [];
    domain.onForget((upstream) => heard.push(upstream));
    domain.forget('qwen3:4b');
    domain.forget(undefined);
    expect(heard).toEqual(['qwen3:4b', undefined]);
  });
});
