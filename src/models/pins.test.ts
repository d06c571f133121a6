import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../backends/backend.js';
import { modelSchema, type ModelConfig } from '../config/schema.js';
import { Pins } from './pins.js';

/** A model on a backend whose `/api/show` says `contextLength`, counting how often it is asked. */
function model(config: Partial<ModelConfig> = {}, contextLength = 32768) {
  const shows = { count: 0 };
  const backend = { show: async () => (shows.count++, { model_info: { 'llama.context_length': contextLength } }) } as unknown as Backend;
  const entry = { name: 'm', upstream: 'm', config: { ...modelSchema.parse(config), parallel: 1 }, backend };
  return { entry, shows };
}

function warnings(): { pins: Pins; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { pins: new Pins(pino({ level: 'warn' }, sink)), lines };
}

describe('Pins: the context', () => {
  it('grows to the largest ask; other options stay first-seen; one warn line, at the first growth of a used model', async () => {
    const { pins, lines } = warnings();
    const { entry, shows } = model();
    expect(await pins.fitContext(entry, { num_batch: 256 }, 10)).toBe(false); // Open WebUI: nothing pinned
    expect(await pins.fitContext(entry, { num_ctx: 16384, num_batch: 1024 }, 10)).toBe(true);
    expect(await pins.fitContext(entry, { num_ctx: 8192 }, 10)).toBe(false);
    expect(await pins.fitContext(entry, { num_ctx: 65536 }, 10)).toBe(true); // up to the model's 32768
    expect(pins.loadOptions(entry)).toEqual({ num_ctx: 32768, num_batch: 256 });
    expect(pins.apply(entry, { num_ctx: 4096, temperature: 0.2 })).toEqual({ num_ctx: 32768, num_batch: 256, temperature: 0.2 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, model: 'm', from: null, to: 16384, asked: 16384 });
    expect(shows.count).toBe(1); // asked once, when a request first reached past the pin
  });

  it('a fixed pin.num_ctx never moves and never asks the backend', async () => {
    const { entry, shows } = model({ pin: { num_ctx: 2048 } });
    const pins = new Pins();
    expect(await pins.fitContext(entry, { num_ctx: 16384 }, 100)).toBe(false);
    expect(pins.loadOptions(entry)).toEqual({ num_ctx: 2048 });
    await expect((async () => pins.fitContext(entry, {}, 3000))()).rejects.toMatchObject({ code: 'WG_CONTEXT_LENGTH' });
    expect(shows.count).toBe(0);
  });
});
