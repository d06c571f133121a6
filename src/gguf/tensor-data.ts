/**
 * Seeded random tensor contents and their encodings (F32, F16, Q8_0).
 *
 * Values are ~N(0, 0.02): each is the centred sum of the 4 bytes of one xorshift32 draw
 * (Irwin–Hall, n = 4), scaled. That is close enough to normal for sane activations, costs a
 * handful of integer ops per value (files can be GBs), and takes only 1021 distinct values,
 * so F32/F16 encodings are table look-ups. Byte order is the host's (little-endian on every
 * platform llama.cpp ships for), written through typed-array views.
 */
import type { TensorType } from './spec.js';

/** Standard deviation of generated weights: small, like a freshly initialised transformer. */
export const WEIGHT_STD = 0.02;
/** Q8_0: 32 values share one f16 scale, each stored as int8. */
export const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

// Sum of 4 uniform bytes: mean 510, variance 4 * (256² - 1) / 12.
const SUM_MEAN = 510;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const SCALE = WEIGHT_STD / Math.sqrt((4 * (256 * 256 - 1)) / 12);
const F32_TABLE = Float32Array.from({ length: 1021 }, (_, s) => (s - SUM_MEAN) * SCALE);
const F16_TABLE = Uint16Array.from(F32_TABLE, (v) => toHalf(v));

/** IEEE-754 binary16 bits of `v`, rounded to nearest even (as GGML_FP32_TO_FP16). */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const rawExp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (rawExp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const exp = rawExp - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let head = exp << 10;
  if (exp <= 0) {
    // Subnormal half: the implicit leading 1 becomes explicit and shifts right.
    if (exp < -10) return sign;
    mant |= 0x800000;
    shift = 14 - exp;
    head = 0;
  }
  let half = head | (mant >>> shift);
  const rest = mant & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && half & 1)) half++; // a carry into the exponent is correct
  return sign | half;
}

/** The value of binary16 bits `h`. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Bytes `elements` values take in `type` (Q8_0 needs whole blocks). */
export function tensorBytes(type: TensorType, elements: number): number {
  if (type === 'f32') return elements * 4;
  if (type === 'f16') return elements * 2;
  return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
}

/** A reproducible stream of weights; one per tensor so tensors do not depend on each other's sizes. */
export class WeightStream {
  #state: number;

  /** `stream` separates tensors of the same file; `seed` separates files. */
  constructor(seed: number, stream: number) {
    this.#state = splitmix32(splitmix32(seed) ^ Math.imul(stream + 1, 0x9e3779b9)) || 1;
  }

  /** Next Irwin–Hall sum in [0, 1020] (xorshift32 step, then its 4 bytes added). */
  #next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x;
    return (x & 0xff) + ((x >>> 8) & 0xff) + ((x >>> 16) & 0xff) + ((x >>> 24) & 0xff);
  }

  /**
   * Writes the next `elements` values, encoded as `type`, to the start of `out` and returns
   * the byte count. `out` must start 4-byte aligned in its ArrayBuffer.
   */
  fill(type: TensorType, elements: number, out: Uint8Array): number {
    if (type === 'f32') this.#lookUp(F32_TABLE, new Float32Array(out.buffer, out.byteOffset, elements));
    else if (type === 'f16') this.#lookUp(F16_TABLE, new Uint16Array(out.buffer, out.byteOffset, elements));
    else this.#quantize(elements, out);
    return tensorBytes(type, elements);
  }

  #lookUp<T extends Float32Array | Uint16Array>(table: T, view: T): void {
    for (let i = 0; i < view.length; i++) view[i] = table[this.#next()];
  }

  #quantize(elements: number, out: Uint8Array): void {
    const block = new Float32Array(Q8_0_BLOCK);
    for (let b = 0; b < elements / Q8_0_BLOCK; b++) {
      this.#lookUp(F32_TABLE, block);
      quantizeQ8_0Block(block, out, b * Q8_0_BLOCK_BYTES);
    }
  }
}

/**
 * llama.cpp's reference Q8_0 quantisation of 32 floats: scale d = max|x| / 127 stored as f16,
 * then round(x / d) (half away from zero) as int8. Writes 34 bytes at `out[offset]`.
 */
export function quantizeQ8_0Block(values: Float32Array, out: Uint8Array, offset: number): void {
  let amax = 0;
  for (let i = 0; i < Q8_0_BLOCK; i++) {
    const a = Math.abs(values[i]); // branch-free: random signs would defeat branch prediction
    if (a > amax) amax = a;
  }
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  const h = toHalf(d);
  out[offset] = h & 0xff;
  out[offset + 1] = h >>> 8;
  for (let i = 0; i < Q8_0_BLOCK; i++) {
    const x = values[i] * id;
    // C's roundf: floor(x + 0.5) (branch-free, unlike V8's Math.round), then negative ties
    // (-k.5, rare, so a well-predicted branch) go away from zero. `& 0xff` stores the int8 as a byte.
    let q = Math.floor(x + 0.5);
    if (q - x === 0.5 && x < 0) q--;
    out[offset + 2 + i] = q & 0xff;
  }
}

/** splitmix32 finaliser: spreads a seed over all 32 bits. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
