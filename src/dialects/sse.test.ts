import { describe, expect, it } from 'vitest';
import { byteChunks, collect, everySplit } from '../../test/fakes/byte-stream.js';
import { sseData, sseEvent } from './sse.js';

describe('sseData', () => {
  const chunk = { choices: [{ index: 0, delta: { content: 'héllo 世界' }, finish_reason: null }] };
  const text = `${sseEvent(chunk)}: ping\n\n${sseEvent({ choices: [] })}${sseEvent('[DONE]')}`;

  it('yields each data payload wherever the stream is cut, and stops at [DONE]', async () => {
    for (const chunks of everySplit(text)) {
      const out = await collect(sseData(byteChunks(chunks)));
      expect(out.map((d) => JSON.parse(d))).toEqual([chunk, { choices: [] }]);
    }
  });

  it('handles CRLF, comments, other fields and multi-line data', async () => {
    const body = byteChunks([': comment\r\nevent: message\r\nid: 7\r\ndata: {"a":\r\ndata:1}\r\n\r\n', 'retry: 10\r\ndata: x\r\n\r\n']);
    expect(await collect(sseData(body))).toEqual(['{"a":\n1}', 'x']);
  });

  it('yields a last event that has no blank line after it', async () => {
    expect(await collect(sseData(byteChunks(['data: {"content":"a","stop":true}\n'])))).toEqual(['{"content":"a","stop":true}']);
  });

  it("throws UPSTREAM_ERROR with the message of llama-server's legacy `error:` field", async () => {
    const body = byteChunks(['data: {"content":"a"}\n\n', 'error: {"code":500,"message":"context shift disabled","type":"server_error"}\n\n']);
    const it = sseData(body);
    expect((await it.next()).value).toBe('{"content":"a"}');
    await expect(it.next()).rejects.toMatchObject({ code: 'WG_UPSTREAM_ERROR', message: 'context shift disabled' });
  });
});

describe('sseEvent', () => {
  it('encodes objects and the [DONE] marker as data events', () => {
    expect(sseEvent({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(sseEvent('[DONE]')).toBe('data: [DONE]\n\n');
  });
});
