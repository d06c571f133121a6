/**
 * Picks model dimensions whose file lands on a target size, so tests and benchmarks can ask
 * for "a 300 MB model" rather than for layer counts.
 *
 * Shape first, then fill: the widest embedding from a ladder that still leaves at least
 * MIN_LAYERS layers (so partial GPU offload has room to split), ~10% of the bytes in the
 * vocabulary, then the feed-forward width absorbs what the whole layers left over, and the
 * vocabulary size (a few bytes per token) trims the rest. The result is usually within a
 * few KB of the target; anything off by more than 2% is an error.
 */
import { modelFileSize } from './layout.js';
import { parseModelSpec, type ModelSpec, type TensorType } from './spec.js';
import { tensorBytes } from './tensor-data.js';
import { MIN_VOCAB } from './vocab.js';

export interface SizeOptions {
  tensorType?: TensorType;
  embedding?: boolean;
  seed?: number;
  ctx?: number;
  name?: string;
}

/** The size tolerance `specForSize` guarantees, as a fraction of the target. */
export const SIZE_TOLERANCE = 0.02;
const EMBD_LADDER = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 2560, 3072, 4096, 5120, 6144, 8192];
const MIN_LAYERS = 8;
const MAX_VOCAB = 32000;
const VOCAB_SHARE = 0.1;

/** A spec whose file is within 2% of `targetBytes` (throws a RangeError when none can be). */
export function specForSize(targetBytes: number, opts: SizeOptions = {}): ModelSpec {
  if (!Number.isFinite(targetBytes) || targetBytes <= 0) throw new RangeError(`target size must be a positive number, got ${targetBytes}`);
  const tensorType = opts.tensorType ?? 'f16';
  const embedding = opts.embedding ?? false;
  const bytesPerValue = tensorBytes(tensorType, 32) / 32;
  // Chat models store the vocabulary twice: token embeddings and the output head.
  const vocabMatrices = embedding ? 1 : 2;

  const shapes = EMBD_LADDER.map((embd) => {
    const headDim = embd >= 256 ? 64 : 32;
    const heads = embd / headDim;
    const kvHeads = heads % 4 === 0 ? heads / 4 : heads;
    const ff = roundUp32((embd * 8) / 3);
    const vocab = clamp(Math.round((VOCAB_SHARE * targetBytes) / (vocabMatrices * embd * bytesPerValue)), 512, MAX_VOCAB);
    const layerBytes = bytesPerValue * (2 * embd * embd + 2 * embd * headDim * kvHeads + 3 * embd * ff);
    const layers = Math.floor((targetBytes - vocab * vocabMatrices * embd * bytesPerValue) / layerBytes);
    return { embd, heads, kvHeads, ff, vocab, layers };
  });
  const shape = [...shapes].reverse().find((s) => s.layers >= MIN_LAYERS) ?? shapes[0];
  const base = {
    ...shape,
    layers: Math.max(1, shape.layers),
    ctx: opts.ctx,
    tensorType,
    embedding,
    seed: opts.seed,
    name: opts.name,
  };

  // File size is linear in ff (up to alignment padding): fill with whole 32-wide steps.
  const narrow = modelFileSize({ ...base, ff: 32 });
  const perStep = modelFileSize({ ...base, ff: 64 }) - narrow;
  const ff = 32 + Math.max(0, Math.floor((targetBytes - narrow) / perStep)) * 32;

  // Then the largest vocabulary that still fits under the target.
  let lo = MIN_VOCAB;
  let hi = Math.max(MIN_VOCAB, shape.vocab + Math.ceil(perStep / (vocabMatrices * shape.embd * bytesPerValue)) + 1);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (modelFileSize({ ...base, ff, vocab: mid }) <= targetBytes) lo = mid;
    else hi = mid - 1;
  }
  const spec = parseModelSpec({ ...base, ff, vocab: lo });
  const size = modelFileSize(spec);
  if (Math.abs(size - targetBytes) > SIZE_TOLERANCE * targetBytes) {
    throw new RangeError(`cannot make a ${tensorType} model of ${targetBytes} bytes (closest: ${size} bytes)`);
  }
  return spec;
}

function roundUp32(n: number): number {
  return Math.ceil(n / 32) * 32;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
