import { describe, expect, it } from 'vitest';
import { byteByByte, byteChunks, collect, everySplit } from '../../test/fakes/byte-stream.js';
import { ndjsonLine, ndjsonObjects, textLines } from './ndjson.js';

const lines = [
  { model: 'llama3.2:latest', created_at: '2025-01-01T00:00:00Z', message: { role: 'assistant', content: 'Grüße 👋' }, done: false },
  { model: 'llama3.2:latest', created_at: '2025-01-01T00:00:01Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', eval_count: 2 },
];
const text = lines.map(ndjsonLine).join('');

describe('ndjsonObjects', () => {
  it('parses every object wherever the stream is cut, multi-byte characters included', async () => {
    for (const chunks of everySplit(text)) expect(await collect(ndjsonObjects(byteChunks(chunks)))).toEqual(lines);
    expect(await collect(ndjsonObjects(byteChunks(byteByByte(text))))).toEqual(lines);
  });

  it('yields an object as soon as its line completes, before the stream ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = (async function* () {
      yield new TextEncoder().encode(ndjsonLine(lines[0]));
      await gate;
      yield new TextEncoder().encode(ndjsonLine(lines[1]));
    })();
    const it = ndjsonObjects(body);
    expect((await it.next()).value).toEqual(lines[0]);
    release();
    expect((await it.next()).value).toEqual(lines[1]);
    expect((await it.next()).done).toBe(true);
  });

  it('accepts CRLF, blank lines and a last line without a newline', async () => {
    const out = await collect(ndjsonObjects(byteChunks(['{"a":1}\r\n\r\n', '\n{"b"', ':2}'])));
    expect(out).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('throws UPSTREAM_ERROR on a line that is not JSON', async () => {
    await expect(collect(ndjsonObjects(byteChunks(['{"a":1}\nnot json\n'])))).rejects.toMatchObject({ code: 'WG_UPSTREAM_ERROR' });
  });
});

describe('textLines', () => {
  it('joins a line cut into many chunks once, with a CR split from its LF', async () => {
    const long = 'x'.repeat(100_000);
    const chunks = [...Array.from({ length: 100 }, (_, i) => long.slice(i * 1000, (i + 1) * 1000)), '\r', '\nnext\n'];
    expect(await collect(textLines(byteChunks(chunks)))).toEqual([long, 'next']);
  });

  it('refuses a line longer than its cap with UPSTREAM_ERROR, also one that never ends', async () => {
    await expect(collect(textLines(byteChunks(['abc', 'defg', '\n']), 5))).rejects.toThrow(/longer than 5 characters/);
    await expect(collect(textLines(byteChunks(['abcdef\n']), 5))).rejects.toMatchObject({ code: 'WG_UPSTREAM_ERROR' });
    await expect(collect(textLines(byteChunks(['abc', 'def']), 5))).rejects.toMatchObject({ code: 'WG_UPSTREAM_ERROR' });
    expect(await collect(textLines(byteChunks(['abcde\n', 'fghij']), 5))).toEqual(['abcde', 'fghij']);
  });
});

describe('ndjsonLine', () => {
  it('is one JSON object and a newline', () => {
    expect(ndjsonLine({ error: 'boom' })).toBe('{"error":"boom"}\n');
  });
});
