import { throwIfUpstreamError } from './canonical.js';
import { textLines } from './ndjson.js';

/** What an SSE `data:` line carries: a JSON object, or the OpenAI end marker. */
export type SseMessage = Record<string, unknown> | '[DONE]';

/**
 * Yields the `data` payload of each server-sent event as the event completes (at its blank
 * line, or at the end of the stream). Multi-line data is joined with `\n` as the SSE spec
 * says; comments (`:` lines, llama-server's pings) and other fields are ignored. The stream
 * ends at `data: [DONE]`, which is not yielded. Older llama-server versions report a
 * mid-stream failure as a non-standard `error: {...}` field: that throws UPSTREAM_ERROR.
 */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string, void, undefined> {
  let data: string | undefined;
  for await (const line of textLines(body)) {
    if (line === '') {
      if (data === '[DONE]') return;
      if (data !== undefined) yield data;
      data = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'error') throwIfUpstreamError({ error: parseOrKeep(value) });
  }
  if (data !== undefined && data !== '[DONE]') yield data;
}

/** One SSE event carrying `msg` as its data, terminated by the blank line. */
export function sseEvent(msg: SseMessage): string {
  return `data: ${msg === '[DONE]' ? msg : JSON.stringify(msg)}\n\n`;
}

function parseOrKeep(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
