import { describe, expect, it } from 'vitest';
import {
  BLOCK_QUANTS,
  dequantizeQ4_0Block,
  dequantizeQ8_0Block,
  fromHalf,
  quantizeQ4_0Block,
  quantizeQ8_0Block,
  tensorBytes,
  toHalf,
  WeightStream,
  WEIGHT_STD,
} from './tensor-data.js';

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

describe('quantizeQ4_0Block', () => {
  // max = -0.8 (index 3; +0.8 at index 4 ties in magnitude but comes later, so the sign is -):
  // d = -0.8 / -8 = 0.1, stored as f16 0x2e66 (0.0999755859375); level = min(15, trunc(x / 0.1 + 8.5)).
  const values = new Float32Array(32);
  values[0] = 0.46; //   4.6 + 8.5 = 13.1 -> 13
  values[16] = -0.33; // -3.3 + 8.5 =  5.2 ->  5
  values[3] = -0.8; //   -8 + 8.5 =  0.5 ->  0
  values[19] = 0.07; //  0.7 + 8.5 =  9.2 ->  9
  values[4] = 0.8; //      8 + 8.5 = 16.5 -> 16, clamped to 15
  values[20] = -0.74; // -7.4 + 8.5 = 1.1 ->  1
  values[7] = -0.07; // -0.7 + 8.5 =  7.8 ->  7
  values[23] = 0.66; //  6.6 + 8.5 = 15.1 -> 15
  // every other value is 0: 8.5 -> 8, so those bytes are 0x88
  const d = 0.0999755859375;

  it('stores max/-8 as the f16 scale and packs value j low, value j+16 high', () => {
    const out = new Uint8Array(20);
    quantizeQ4_0Block(values, out, 2);
    const expected = new Array(16).fill(0x88);
    expected[0] = 13 | (5 << 4);
    expected[3] = 0 | (9 << 4);
    expected[4] = 15 | (1 << 4);
    expected[7] = 7 | (15 << 4);
    expect([...out.subarray(2, 4)]).toEqual([0x66, 0x2e]);
    expect([...out.subarray(4)]).toEqual(expected);
    expect(fromHalf(out[2] | (out[3] << 8))).toBe(d);
  });

  it('dequantises to (level - 8) * d, within half a step except the clamped +max', () => {
    const out = new Uint8Array(18);
    quantizeQ4_0Block(values, out, 0);
    const back = dequantizeQ4_0Block(out, 0);
    const expected = new Array(32).fill(0);
    expected[0] = 5 * d;
    expected[16] = -3 * d;
    expected[3] = -8 * d;
    expected[19] = 1 * d;
    expected[4] = 7 * d; // 0.8 comes back as 0.7: Q4_0 has no +8 level
    expected[20] = -7 * d;
    expected[7] = -1 * d;
    expected[23] = 7 * d;
    expect([...back]).toEqual(expected.map((v) => Math.fround(v)));
    for (let i = 0; i < 32; i++) {
      // The clamped 0.8 is off by a whole step, plus 8 steps' share of the scale's f16 rounding.
      expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(i === 4 ? d * 1.01 : d / 2 + 1e-6);
    }
  });

  it('takes the sign of the first largest magnitude: +max first gives a negative scale', () => {
    const flipped = values.map((v) => -v);
    const out = new Uint8Array(18);
    quantizeQ4_0Block(flipped, out, 0);
    expect(fromHalf(out[0] | (out[1] << 8))).toBe(-d); // max = +0.8 at index 3
    const back = dequantizeQ4_0Block(out, 0);
    expect(back[3]).toBe(Math.fround(8 * d)); // +0.8 is level 0: -8 * -d
    expect(back[4]).toBe(Math.fround(-7 * d)); // -0.8 clamps to level 15
  });

  it('writes scale -0 and level 8 everywhere for an all-zero block (as C does: 0 / -8 = -0)', () => {
    const out = new Uint8Array(18).fill(7);
    quantizeQ4_0Block(new Float32Array(32), out, 0);
    expect([...out]).toEqual([0x00, 0x80, ...new Array(16).fill(0x88)]);
    expect([...dequantizeQ4_0Block(out, 0)].every((v) => v === 0)).toBe(true);
  });
});

describe('BLOCK_QUANTS', () => {
  it('sizes Q8_0 blocks at 34 bytes and Q4_0 blocks at 18, as ggml does', () => {
    expect(BLOCK_QUANTS.q8_0.bytes).toBe(34);
    expect(BLOCK_QUANTS.q4_0.bytes).toBe(18);
    expect(tensorBytes('q8_0', 64)).toBe(68);
    expect(tensorBytes('q4_0', 64)).toBe(36);
  });

  it('dequantises Q8_0 as scale times each int8', () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 100);
    const out = new Uint8Array(34);
    quantizeQ8_0Block(values, out, 0);
    const back = dequantizeQ8_0Block(out, 0);
    const scale = fromHalf(out[0] | (out[1] << 8));
    expect(back[0]).toBe(Math.fround(-127 * scale)); // -0.16 is the largest magnitude
    for (let i = 0; i < 32; i++) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(scale * 0.57);
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

  it('encodes Q4_0 at 18 bytes a block, within a step of the F32 values', () => {
    const n = 4096;
    const f32 = draw(6, 0, n);
    const q4 = new Uint8Array(tensorBytes('q4_0', n));
    expect(new WeightStream(6, 0).fill('q4_0', n, q4)).toBe((n / 32) * 18);
    let withinHalfStep = 0;
    for (let b = 0; b < n / 32; b++) {
      const scale = Math.abs(fromHalf(q4[b * 18] | (q4[b * 18 + 1] << 8)));
      const back = dequantizeQ4_0Block(q4, b * 18);
      for (let i = 0; i < 32; i++) {
        const err = Math.abs(back[i] - f32[b * 32 + i]);
        // Half a step, or a whole one for values past +7 steps on the side opposite max.
        expect(err).toBeLessThanOrEqual(scale * 1.01);
        if (err <= scale * 0.51) withinHalfStep++;
      }
    }
    expect(withinHalfStep / n).toBeGreaterThan(0.98);
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
