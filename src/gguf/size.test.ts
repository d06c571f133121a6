import { describe, expect, it } from 'vitest';
import { modelFileSize } from './layout.js';
import { SIZE_TOLERANCE, specForSize } from './size.js';
import { TENSOR_TYPES } from './spec.js';

describe('specForSize', () => {
  const targets = [5e6, 20e6, 300e6, 1e9, 8e9];

  for (const tensorType of TENSOR_TYPES) {
    for (const embedding of [false, true]) {
      it(`lands within 2% of 5 MB..8 GB targets (${tensorType}${embedding ? ', embedding' : ''})`, () => {
        for (const target of targets) {
          const spec = specForSize(target, { tensorType, embedding });
          expect(spec.tensorType).toBe(tensorType);
          expect(spec.embedding).toBe(embedding);
          expect(Math.abs(modelFileSize(spec) - target) / target).toBeLessThan(SIZE_TOLERANCE);
        }
      });
    }
  }

  it('keeps enough layers to split between GPU and CPU, and a sane shape', () => {
    for (const target of [20e6, 300e6, 1e9]) {
      const spec = specForSize(target, { tensorType: 'q8_0' });
      expect(spec.layers).toBeGreaterThanOrEqual(8);
      expect(spec.ff).toBeGreaterThanOrEqual(spec.embd);
      expect(spec.ff).toBeLessThanOrEqual(spec.embd * 4);
    }
  });

  it('passes seed, context and name through', () => {
    const spec = specForSize(20e6, { seed: 7, ctx: 8192, name: 'x' });
    expect(spec).toMatchObject({ seed: 7, ctx: 8192, name: 'x' });
  });

  it('refuses targets it cannot reach', () => {
    expect(() => specForSize(100_000)).toThrow(RangeError);
    expect(() => specForSize(-1)).toThrow(RangeError);
  });
});
