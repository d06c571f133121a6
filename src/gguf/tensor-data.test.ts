import { describe, expect, it } from 'vitest';
import { fromHalf, quantizeQ8_0Block, tensorBytes, toHalf, WeightStream, WEIGHT_STD } from './tensor-data.js';

describe('toHalf', () => {
  it('encodes exact values, rounds to nearest even and saturates', () => {
    expect(toHalf(0)).toBe(0x0000);
    expect(toHalf(-0)).toBe(0x8000);
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(toHalf(NaN) & 0x7c00).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalf(2 ** -26)).toBe(0x0000); // below half of it: zero
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie, even mantissa stays
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd mantissa rounds up
  });

  it('round-trips every finite half value', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(toHalf(fromHalf(h))).toBe(h === 0x8000 ? 0x8000 : h);
    }
  });
});

describe('quantizeQ8_0Block', () => {
  it('stores max|x|/127 as the f16 scale and x/scale rounded half away from zero', () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 16);
    values[5] = -2.54; // the largest magnitude: scale 0.02, so -2.54 -> -127
    values[6] = -0.05; // -2.5 steps: a tie, away from zero -> -3
    values[7] = 0.05; // 2.5 steps -> 3
    const out = new Uint8Array(36);
    quantizeQ8_0Block(values, out, 2);
    const scale = fromHalf(out[2] | (out[3] << 8));
    expect(scale).toBeCloseTo(0.02, 4);
    const q = Int8Array.from(out.subarray(4, 36));
    expect(q[5]).toBe(-127);
    expect(q[16]).toBe(0);
    for (let i = 0; i < 32; i++) expect(Math.abs(q[i] * scale - values[i])).toBeLessThanOrEqual(scale / 2 + 1e-3);
  });

  it('writes a zero block for all-zero input', () => {
    const out = new Uint8Array(34).fill(7);
    quantizeQ8_0Block(new Float32Array(32), out, 0);
    expect([...out]).toEqual(new Array(34).fill(0));
  });
});

describe('WeightStream', () => {
  const draw = (seed: number, stream: number, n: number) => {
    const out = new Uint8Array(n * 4);
    new WeightStream(seed, stream).fill('f32', n, out);
    return new Float32Array(out.buffer);
  };

  it('is reproducible per (seed, stream) and differs across them', () => {
    expect(draw(1, 0, 1000)).toEqual(draw(1, 0, 1000));
    expect(draw(1, 0, 1000)).not.toEqual(draw(2, 0, 1000));
    expect(draw(1, 0, 1000)).not.toEqual(draw(1, 1, 1000));
  });

  it('does not depend on how the stream is chunked', () => {
    const stream = new WeightStream(9, 3);
    const a = new Uint8Array(4 * 64);
    const b = new Uint8Array(4 * 64);
    stream.fill('f32', 64, a);
    stream.fill('f32', 64, b);
    expect(draw(9, 3, 128)).toEqual(new Float32Array([...new Float32Array(a.buffer), ...new Float32Array(b.buffer)]));
  });

  it('draws ~N(0, 0.02)', () => {
    const values = draw(42, 0, 200_000);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(WEIGHT_STD / 50);
    expect(std / WEIGHT_STD).toBeCloseTo(1, 1);
  });

  it('encodes F16 and Q8_0 at their sizes and close to the F32 values', () => {
    const n = 256;
    const f32 = draw(5, 0, n);
    const f16 = new Uint8Array(tensorBytes('f16', n));
    expect(new WeightStream(5, 0).fill('f16', n, f16)).toBe(n * 2);
    const halves = new Uint16Array(f16.buffer);
    for (let i = 0; i < n; i++) expect(fromHalf(halves[i])).toBeCloseTo(f32[i], 4);

    const q8 = new Uint8Array(tensorBytes('q8_0', n));
    expect(new WeightStream(5, 0).fill('q8_0', n, q8)).toBe((n / 32) * 34);
    for (let b = 0; b < n / 32; b++) {
      const scale = fromHalf(q8[b * 34] | (q8[b * 34 + 1] << 8));
      for (let i = 0; i < 32; i++) {
        const q = (q8[b * 34 + 2 + i] << 24) >> 24;
        // Half a step, plus the f16 rounding of the scale (2^-11 relative) times |q| <= 127.
        expect(Math.abs(q * scale - f32[b * 32 + i])).toBeLessThanOrEqual(scale * 0.57);
      }
    }
  });
});
