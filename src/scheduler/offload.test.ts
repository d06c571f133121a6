import { describe, expect, it } from 'vitest';
import { bytesAt, layerChoices } from './footprint.js';
import { cpuModel, GiB, gpuModel, harness } from '../../test/support/scheduler-harness.js';

// 30 layers of 0.25 GiB each, plus 0.5 GiB of KV cache and buffers once on the GPU.
const chat = gpuModel('chat', { totalGiB: 8, offloadGiB: 7.5, layers: 30, overheadGiB: 0.5 });
const embed = gpuModel('embed', { totalGiB: 1, offloadGiB: 1, layers: 8, overheadGiB: 0.25 });

describe('footprint', () => {
  it('without a GPU everything is counted in ram', () => {
    expect(bytesAt({ totalBytes: 5 * GiB }, 12)).toEqual({ ram: 5 * GiB });
    expect(layerChoices({ totalBytes: 5 * GiB }, 'auto')).toEqual([undefined]);
  });

  it('offloaded layers move their share from ram to the GPU pool, plus the GPU overhead', () => {
    expect(bytesAt(chat.memory, 0)).toEqual({ ram: 8 * GiB });
    expect(bytesAt(chat.memory, 14)).toEqual({ ram: 4.5 * GiB, gpu0: 4 * GiB });
    expect(bytesAt(chat.memory, 30)).toEqual({ ram: 0.5 * GiB, gpu0: 8 * GiB });
    expect(layerChoices(chat.memory, 40)).toEqual([30]);
  });
});

describe('partial GPU offload', () => {
  it('partial offload is chosen when the GPU pool is too small', () => {
    const { s, fx } = harness({ models: [chat], budgets: { ram: 32 * GiB, gpu0: 4 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=14']);
    expect(s.snapshot().pools).toEqual([
      { name: 'ram', budget: 32 * GiB, used: 4.5 * GiB, loading: 'chat' },
      { name: 'gpu0', budget: 4 * GiB, used: 4 * GiB, loading: 'chat' },
    ]);
    s.loadDone('chat', { measuredBytes: { ram: 4 * GiB, gpu: 3.5 * GiB } });
    expect(s.snapshot().models[0]).toMatchObject({ gpuLayers: 14, heldBytes: { ram: 4 * GiB, gpu0: 3.5 * GiB } });
  });

  it('a model that fits is fully offloaded', () => {
    const { s, fx } = harness({ models: [chat], budgets: { ram: 32 * GiB, gpu0: 12 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=30']);
  });

  it('a resident model keeps its place: the newcomer offloads fewer layers instead of evicting it', () => {
    const { s, fx } = harness({ models: [chat, embed], budgets: { ram: 32 * GiB, gpu0: 9 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.serveDone('c1');
    s.request({ id: 'e1', model: 'embed' });
    // 1 GiB of GPU left: 0.25 GiB overhead + 6 layers of 0.125 GiB.
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=30', 'grant c1 chat', 'startLoad embed gpuLayers=6']);
  });

  it('a fixed gpuLayers count evicts to get its layers', () => {
    const fixed = { ...embed, gpuLayers: 8 };
    const { s, fx } = harness({ models: [chat, fixed], budgets: { ram: 32 * GiB, gpu0: 9 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    s.loadDone('chat');
    s.serveDone('c1');
    s.request({ id: 'e1', model: 'embed' });
    s.unloadDone('chat');
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=30', 'grant c1 chat', 'startUnload chat', 'startLoad embed gpuLayers=8']);
  });

  it('without a GPU budget a GPU-capable model loads with 0 layers', () => {
    const { s, fx } = harness({ models: [chat], budgets: { ram: 32 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=0']);
  });

  it('a CPU-only model and a GPU model share the ram pool, so their loads are serialized', () => {
    const { s, fx } = harness({ models: [chat, cpuModel('cpu', 2)], budgets: { ram: 32 * GiB, gpu0: 12 * GiB } });
    s.request({ id: 'c1', model: 'chat' });
    s.request({ id: 'x1', model: 'cpu' });
    expect(fx.take()).toEqual(['startLoad chat gpuLayers=30']);
    s.loadDone('chat');
    expect(fx.take()).toEqual(['startLoad cpu', 'grant c1 chat']);
  });
});
