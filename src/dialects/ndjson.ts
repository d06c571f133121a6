import { WarmgateError } from '../errors.js';

/**
 * Parses an NDJSON byte stream (Ollama's native streaming format), yielding each object as
 * soon as its line is complete. Blank lines are skipped; a line that is not JSON throws
 * UPSTREAM_ERROR, since only an upstream produces these streams.
 */
export async function* ndjsonObjects(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  for await (const line of textLines(body)) {
    if (line.trim() === '') continue;
    yield ndjsonLineObject(line);
  }
}

/** One NDJSON line: the object as JSON followed by `\n`. */
export function ndjsonLine(obj: unknown): string {
  return `${JSON.stringify(obj)}\n`;
}

/** One upstream line (or whole non-streamed reply) as an object; not JSON is UPSTREAM_ERROR. */
export function ndjsonLineObject(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new WarmgateError('UPSTREAM_ERROR', `upstream sent a line that is not JSON: ${line.slice(0, 200)}`, { cause: err });
  }
}

/** Longest line accepted from an upstream (characters): far above any real reply, and a clear error past it. */
export const MAX_LINE_CHARS = 256 * 1024 * 1024;

/**
 * Splits a byte stream into text lines as they complete. Decoding is streamed, so a
 * multi-byte UTF-8 character cut between two chunks is joined before it is decoded, and a
 * line cut between chunks is yielded once, whole. Lines end at `\n`; a `\r` before it
 * (CRLF) is dropped. A last line without a newline is yielded when the stream ends.
 * Linear in the input: each chunk is searched once, and the pieces of a line that spans
 * chunks are joined once, when it ends (a 40 MB line no longer blocks the event loop for
 * seconds). A line longer than `maxLineChars` is UPSTREAM_ERROR.
 */
export async function* textLines(body: AsyncIterable<Uint8Array>, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  let pieces: string[] = [];
  let pendingChars = 0;
  const line = (last: string) => {
    const whole = pieces.length === 0 ? last : pieces.join('') + last;
    pieces = [];
    pendingChars = 0;
    return withoutCr(whole);
  };
  const keep = (piece: string) => {
    pendingChars += piece.length;
    if (pendingChars > maxLineChars) throw new WarmgateError('UPSTREAM_ERROR', `upstream sent a line longer than ${maxLineChars} characters`);
    pieces.push(piece);
  };
  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (pendingChars + nl - start > maxLineChars) keep(text.slice(start, nl));
      yield line(text.slice(start, nl));
      start = nl + 1;
    }
    if (start < text.length) keep(text.slice(start));
  }
  const tail = decoder.decode();
  if (tail.length > 0) keep(tail);
  if (pendingChars > 0) yield line('');
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
