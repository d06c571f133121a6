import { WarmgateError } from '../errors.js';

/**
 * Parses an NDJSON byte stream (Ollama's native streaming format), yielding each object as
 * soon as its line is complete. Blank lines are skipped; a line that is not JSON throws
 * UPSTREAM_ERROR, since only an upstream produces these streams.
 */
export function ndjsonObjects(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  return ndjsonParsed(body, (_line, value) => value);
}

/** An NDJSON line as it came (without its newline), and its object. */
export interface NdjsonEntry {
  line: string;
  value: unknown;
}

/** `ndjsonObjects` keeping each line's text, for a passthrough that sends the line on as it came when it needs no edit. */
export function ndjsonEntries(body: AsyncIterable<Uint8Array>): AsyncGenerator<NdjsonEntry, void, undefined> {
  return ndjsonParsed(body, (line, value) => ({ line, value }));
}

async function* ndjsonParsed<T>(body: AsyncIterable<Uint8Array>, make: (line: string, value: unknown) => T): AsyncGenerator<T, void, undefined> {
  const lines = new LineSplitter();
  for await (const chunk of body) {
    lines.push(chunk);
    for (let line = lines.shift(); line !== undefined; line = lines.shift()) if (line.trim() !== '') yield make(line, ndjsonLineObject(line));
  }
  const last = lines.end();
  if (last !== undefined && last.trim() !== '') yield make(last, ndjsonLineObject(last));
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
  const lines = new LineSplitter(maxLineChars);
  for await (const chunk of body) {
    lines.push(chunk);
    for (let line = lines.shift(); line !== undefined; line = lines.shift()) yield line;
  }
  const last = lines.end();
  if (last !== undefined) yield last;
}

/**
 * `textLines`' splitting, without a generator of its own: `push` a chunk, then `shift` its
 * complete lines (undefined when there are no more); `end` gives the unterminated last
 * line. Parsers that read lines (`ndjsonObjects`) use it inside their own loop, so a line
 * crosses one async generator, not two.
 */
export class LineSplitter {
  readonly #max: number;
  readonly #decoder = new TextDecoder('utf-8');
  /** The current chunk's text, and where its unread part starts. */
  #text = '';
  #start = 0;
  /** The start of a line that spans chunks, kept until it ends. */
  #pieces: string[] = [];
  #pendingChars = 0;

  constructor(maxLineChars = MAX_LINE_CHARS) {
    this.#max = maxLineChars;
  }

  push(chunk: Uint8Array): void {
    this.#keep(this.#text.slice(this.#start));
    this.#text = this.#decoder.decode(chunk, { stream: true });
    this.#start = 0;
  }

  shift(): string | undefined {
    const nl = this.#text.indexOf('\n', this.#start);
    if (nl < 0) return undefined;
    if (this.#pendingChars + nl - this.#start > this.#max) this.#keep(this.#text.slice(this.#start, nl));
    const line = this.#line(this.#text.slice(this.#start, nl));
    this.#start = nl + 1;
    return line;
  }

  end(): string | undefined {
    this.#keep(this.#text.slice(this.#start));
    this.#text = '';
    this.#start = 0;
    this.#keep(this.#decoder.decode());
    return this.#pendingChars > 0 ? this.#line('') : undefined;
  }

  #keep(piece: string): void {
    if (piece.length === 0) return;
    this.#pendingChars += piece.length;
    if (this.#pendingChars > this.#max) throw new WarmgateError('UPSTREAM_ERROR', `upstream sent a line longer than ${this.#max} characters`);
    this.#pieces.push(piece);
  }

  #line(last: string): string {
    const whole = this.#pieces.length === 0 ? last : this.#pieces.join('') + last;
    this.#pieces = [];
    this.#pendingChars = 0;
    return whole.endsWith('\r') ? whole.slice(0, -1) : whole;
  }
}
