/**
 * Embedding vector encodings and shaping. OpenAI's `encoding_format: "base64"` is the
 * little-endian float32 bytes of the vector; openai@4 asks for it when the caller sets no
 * format and decodes it with a Float32Array, so the byte order and width must be exact.
 */

export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

export function base64Float32(encoded: string): number[] {
  const bytes = Buffer.from(encoded, 'base64');
  const out = new Array<number>(Math.floor(bytes.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** The vector scaled to unit length (L2); a zero vector is returned unchanged. */
export function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm === 0 ? [...vector] : vector.map((v) => v / norm);
}

/**
 * `dimensions` as OpenAI and Ollama apply it: keep the first `dimensions` values and
 * re-normalize; a vector already that short, or no `dimensions`, is returned as is.
 */
export function fitDimensions(vector: readonly number[], dimensions: number | undefined): number[] {
  if (dimensions === undefined || dimensions >= vector.length) return [...vector];
  return normalize(vector.slice(0, dimensions));
}
