import { WarmgateError } from '../errors.js';
import { textLines } from './text-lines.js';

/**
 * Parses an NDJSON byte stream (Ollama's native streaming format), yielding each object as
 * soon as its line is complete. Blank lines are skipped; a line that is not JSON throws
 * UPSTREAM_ERROR, since only an upstream produces these streams.
 */
export async function* ndjsonObjects(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  for await (const line of textLines(body)) {
    if (line.trim() === '') continue;
    yield parseLine(line);
  }
}

/** One NDJSON line: the object as JSON followed by `\n`. */
export function ndjsonLine(obj: unknown): string {
  return `${JSON.stringify(obj)}\n`;
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new WarmgateError('UPSTREAM_ERROR', `upstream sent a line that is not JSON: ${line.slice(0, 200)}`, { cause: err });
  }
}
