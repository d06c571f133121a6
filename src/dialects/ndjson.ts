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

/**
 * Splits a byte stream into text lines as they complete. Decoding is streamed, so a
 * multi-byte UTF-8 character cut between two chunks is joined before it is decoded, and a
 * line cut between chunks is yielded once, whole. Lines end at `\n`; a `\r` before it
 * (CRLF) is dropped. A last line without a newline is yielded when the stream ends.
 */
export async function* textLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      yield withoutCr(pending.slice(start, nl));
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending.length > 0) yield withoutCr(pending);
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
