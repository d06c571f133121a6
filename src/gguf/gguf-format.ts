/**
 * GGUF v3 binary encoding of everything before the tensor data: header, metadata key/values
 * and tensor infos (little-endian, strings as u64 length + UTF-8 bytes).
 * See https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
 */

export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;
const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** GGUF metadata value type ids. */
const ValueType = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
/** ggml tensor type ids. */
export const GgmlType = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 } as const;

export type MetadataValue =
  | { type: 'u32' | 'i32' | 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: 'string'; value: readonly string[] }
  | { type: 'array'; of: 'f32' | 'i32'; value: ArrayLike<number> };

export interface TensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: readonly number[];
  ggmlType: number;
  /** Offset from the start of the tensor data section, a multiple of the alignment. */
  offset: number;
}

/** Rounds `n` up to the next multiple of `alignment`. */
export function alignUp(n: number, alignment = GGUF_ALIGNMENT): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Header + metadata + tensor infos, padded so tensor data starts aligned. */
export function encodeGgufHead(metadata: ReadonlyArray<readonly [string, MetadataValue]>, tensors: readonly TensorInfo[]): Buffer {
  const out = new ByteWriter();
  out.u32(MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.ggmlType);
    out.u64(t.offset);
  }
  out.padTo(GGUF_ALIGNMENT);
  return out.toBuffer();
}

function writeValue(out: ByteWriter, v: MetadataValue): void {
  out.u32(ValueType[v.type]);
  switch (v.type) {
    case 'u32': return out.u32(v.value);
    case 'i32': return out.i32(v.value);
    case 'f32': return out.f32(v.value);
    case 'bool': return out.u8(v.value ? 1 : 0);
    case 'string': return out.string(v.value);
    case 'array':
      out.u32(ValueType[v.of]);
      out.u64(v.value.length);
      if (v.of === 'string') for (const s of v.value) out.string(s);
      else if (v.of === 'f32') for (let i = 0; i < v.value.length; i++) out.f32(v.value[i]);
      else for (let i = 0; i < v.value.length; i++) out.i32(v.value[i]);
  }
}

/** A growable little-endian byte buffer. */
class ByteWriter {
  #buf = Buffer.alloc(1 << 16);
  #len = 0;

  #reserve(n: number): number {
    if (this.#len + n > this.#buf.length) {
      const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    const at = this.#len;
    this.#len += n;
    return at;
  }

  // #reserve may replace #buf, so it runs before #buf is read.
  u8(n: number): void { const at = this.#reserve(1); this.#buf.writeUInt8(n, at); }
  u32(n: number): void { const at = this.#reserve(4); this.#buf.writeUInt32LE(n, at); }
  i32(n: number): void { const at = this.#reserve(4); this.#buf.writeInt32LE(n, at); }
  f32(n: number): void { const at = this.#reserve(4); this.#buf.writeFloatLE(n, at); }
  u64(n: number): void { const at = this.#reserve(8); this.#buf.writeBigUInt64LE(BigInt(n), at); }

  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.u64(len);
    const at = this.#reserve(len);
    this.#buf.write(s, at, 'utf8');
  }

  padTo(alignment: number): void {
    this.#reserve(alignUp(this.#len, alignment) - this.#len); // Buffer.alloc already zeroed it
  }

  toBuffer(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}
