/**
 * Seeded random tensor contents and their encodings (F32, F16, and the block-quantised Q8_0
 * and Q4_0, which share one block loop and differ only in their `BLOCK_QUANTS` entry).
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
/** Values per block of every quantised type here (ggml's QK8_0 and QK4_0). */
export const QUANT_BLOCK = 32;

/** The tensor types stored as blocks of QUANT_BLOCK values. */
export type QuantType = Exclude<TensorType, 'f32' | 'f16'>;

/** One block-quantised encoding: its block size in bytes and llama.cpp's reference quantiser. */
export interface BlockQuant {
  bytes: number;
  /** Encodes QUANT_BLOCK floats into `bytes` bytes at `out[offset]`. */
  quantize(values: Float32Array, out: Uint8Array, offset: number): void;
  /** Decodes the block at `data[offset]` back into QUANT_BLOCK floats. */
  dequantize(data: Uint8Array, offset: number): Float32Array;
}

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

/** Bytes `elements` values take in `type` (quantised types need whole blocks). */
export function tensorBytes(type: TensorType, elements: number): number {
  if (type === 'f32') return elements * 4;
  if (type === 'f16') return elements * 2;
  return (elements / QUANT_BLOCK) * BLOCK_QUANTS[type].bytes;
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
    else this.#quantize(BLOCK_QUANTS[type], elements, out);
    return tensorBytes(type, elements);
  }

  #lookUp<T extends Float32Array | Uint16Array>(table: T, view: T): void {
    for (let i = 0; i < view.length; i++) view[i] = table[this.#next()];
  }

  #quantize(quant: BlockQuant, elements: number, out: Uint8Array): void {
    const block = new Float32Array(QUANT_BLOCK);
    for (let b = 0; b < elements / QUANT_BLOCK; b++) {
      this.#lookUp(F32_TABLE, block);
      quant.quantize(block, out, b * quant.bytes);
    }
  }
}

/**
 * llama.cpp's reference Q8_0 quantisation of 32 floats: scale d = max|x| / 127 stored as f16,
 * then round(x / d) (half away from zero) as int8. Writes 34 bytes at `out[offset]`.
 */
export function quantizeQ8_0Block(values: Float32Array, out: Uint8Array, offset: number): void {
  let amax = 0;
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const a = Math.abs(values[i]); // branch-free: random signs would defeat branch prediction
    if (a > amax) amax = a;
  }
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  writeScale(d, out, offset);
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const x = values[i] * id;
    // C's roundf: floor(x + 0.5) (branch-free, unlike V8's Math.round), then negative ties
    // (-k.5, rare, so a well-predicted branch) go away from zero. `& 0xff` stores the int8 as a byte.
    let q = Math.floor(x + 0.5);
    if (q - x === 0.5 && x < 0) q--;
    out[offset + 2 + i] = q & 0xff;
  }
}

/** The 32 values of the Q8_0 block at `data[offset]`: scale times each int8. */
export function dequantizeQ8_0Block(data: Uint8Array, offset: number): Float32Array {
  const d = readScale(data, offset);
  return Float32Array.from({ length: QUANT_BLOCK }, (_, i) => d * ((data[offset + 2 + i] << 24) >> 24));
}

/**
 * llama.cpp's reference Q4_0 quantisation of 32 floats (`quantize_row_q4_0_ref`): the value of
 * largest magnitude `max`, sign kept (the first one on a tie), gives d = max / -8, stored as
 * f16, so `max` itself lands on level 0 (-8 steps) and the other side reaches +7. Level
 * i = min(15, trunc(x / d + 8.5)) goes in a nibble: byte j holds value j low and value j + 16
 * high. Writes 18 bytes at `out[offset]`. The arithmetic is C's float arithmetic (every step
 * rounded to binary32 with Math.fround), so levels on a rounding edge match llama.cpp's.
 */
export function quantizeQ4_0Block(values: Float32Array, out: Uint8Array, offset: number): void {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < QUANT_BLOCK; i++) {
    const a = Math.abs(values[i]);
    if (a > amax) {
      amax = a;
      max = values[i];
    }
  }
  const d = Math.fround(max / -8);
  const id = d ? Math.fround(1 / d) : 0;
  writeScale(d, out, offset);
  const half = QUANT_BLOCK / 2;
  for (let j = 0; j < half; j++) {
    // x * id + 8.5 lies in [0.5, 16.5], so `| 0` truncates it as C's (int8_t) cast does.
    const lo = Math.min(15, Math.fround(Math.fround(values[j] * id) + 8.5) | 0);
    const hi = Math.min(15, Math.fround(Math.fround(values[half + j] * id) + 8.5) | 0);
    out[offset + 2 + j] = lo | (hi << 4);
  }
}

/** The 32 values of the Q4_0 block at `data[offset]`: (nibble - 8) times the scale. */
export function dequantizeQ4_0Block(data: Uint8Array, offset: number): Float32Array {
  const d = readScale(data, offset);
  const half = QUANT_BLOCK / 2;
  const values = new Float32Array(QUANT_BLOCK);
  for (let j = 0; j < half; j++) {
    const byte = data[offset + 2 + j];
    values[j] = ((byte & 0x0f) - 8) * d;
    values[half + j] = ((byte >>> 4) - 8) * d;
  }
  return values;
}

/** Every block-quantised type, keyed by its tensor type; `tensorBytes` and `fill` dispatch on it. */
export const BLOCK_QUANTS: Readonly<Record<QuantType, BlockQuant>> = {
  q8_0: { bytes: 2 + QUANT_BLOCK, quantize: quantizeQ8_0Block, dequantize: dequantizeQ8_0Block },
  q4_0: { bytes: 2 + QUANT_BLOCK / 2, quantize: quantizeQ4_0Block, dequantize: dequantizeQ4_0Block },
};

/** Stores a block's scale as little-endian f16 at `out[offset]`. */
function writeScale(d: number, out: Uint8Array, offset: number): void {
  const h = toHalf(d);
  out[offset] = h & 0xff;
  out[offset + 1] = h >>> 8;
}

function readScale(data: Uint8Array, offset: number): number {
  return fromHalf(data[offset] | (data[offset + 1] << 8));
}

/** splitmix32 finaliser: spreads a seed over all 32 bits. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
