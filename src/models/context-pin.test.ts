import { describe, expect, it } from 'vitest';
import { estimateTokens, nextContext, promptTexts } from './context-pin.js';

describe('nextContext: num_ctx only grows', () => {
  it('pins the first ask, grows to a larger one, keeps the larger for less or none', () => {
    expect(nextContext(undefined, {}, {})).toBeUndefined();
    expect(nextContext(undefined, { asked: 1000 }, {})).toBe(1000);
    expect(nextContext(1000, { asked: 16384 }, {})).toBe(16384);
    expect(nextContext(16384, { asked: 8192 }, {})).toBe(16384);
    expect(nextContext(16384, {}, {})).toBe(16384);
  });

  it('is capped by max_ctx and the model\'s own context_length; a fixed pin never moves', () => {
    expect(nextContext(undefined, { asked: 16384 }, { max: 8192 })).toBe(8192);
    expect(nextContext(undefined, { asked: 16384 }, { modelMax: 2048 })).toBe(2048);
    expect(nextContext(2048, { asked: 16384 }, { fixed: 2048 })).toBe(2048);
    expect(nextContext(2048, { asked: 1000 }, { fixed: 2048 })).toBe(2048);
  });

  it('a prompt past the context grows it to a power of two with room for the reply; past the cap it is refused', () => {
    expect(nextContext(undefined, { promptTokens: 2000 }, {})).toBeUndefined(); // fits the assumed default
    expect(nextContext(undefined, { promptTokens: 3000 }, {})).toBe(4096);
    expect(nextContext(4096, { promptTokens: 3800 }, {})).toBe(4096);
    expect(nextContext(4096, { promptTokens: 5000 }, { max: 6000 })).toBe(6000);
    expect(() => nextContext(4096, { promptTokens: 7000 }, { max: 6000 })).toThrow(expect.objectContaining({ code: 'WG_CONTEXT_LENGTH', status: 400 }));
    expect(() => nextContext(2048, { promptTokens: 3000 }, { fixed: 2048 })).toThrow(/input length exceeds maximum context length/);
  });
});

describe('the prompt estimate', () => {
  it('counts system, prompt and every message content, at 4 UTF-8 bytes a token', () => {
    const body = { system: 'abcd', prompt: 'efgh', messages: [{ role: 'user', content: 'ijkl' }, { role: 'user', content: 'é' }] };
    expect([...promptTexts(body)]).toEqual(['abcd', 'efgh', 'ijkl', 'é']);
    expect(estimateTokens(promptTexts(body))).toBe(4); // 14 bytes
  });
});
