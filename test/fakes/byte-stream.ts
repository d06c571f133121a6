/** Byte streams for parser tests: the exact chunk boundaries a socket might produce. */

const encoder = new TextEncoder();

export async function* byteChunks(parts: ReadonlyArray<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? encoder.encode(part) : part;
}

/** Every way to cut `text`'s UTF-8 bytes in two (including through multi-byte characters). */
export function everySplit(text: string): Uint8Array[][] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[][] = [];
  for (let i = 0; i <= bytes.length; i++) out.push([bytes.slice(0, i), bytes.slice(i)]);
  return out;
}

/** `text`'s UTF-8 bytes one byte per chunk. */
export function byteByByte(text: string): Uint8Array[] {
  return [...encoder.encode(text)].map((b) => Uint8Array.of(b));
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of it) out.push(item);
  return out;
}
