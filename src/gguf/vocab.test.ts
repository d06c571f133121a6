import { describe, expect, it } from 'vitest';
import { buildVocabulary, IM_END, IM_START, MIN_VOCAB, TokenType } from './vocab.js';

describe('buildVocabulary', () => {
  it('has exactly the requested number of unique tokens, with matching scores and types', () => {
    for (const size of [MIN_VOCAB, 1000, 4096, 32000, 70000]) {
      const v = buildVocabulary(size);
      expect(v.tokens).toHaveLength(size);
      expect(new Set(v.tokens).size).toBe(size);
      expect(v.scores).toHaveLength(size);
      expect(v.types).toHaveLength(size);
    }
  });

  it('starts with <unk> <s> </s>, the 256 byte tokens and the ChatML markers', () => {
    const v = buildVocabulary(1000);
    expect(v.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect([...v.types.slice(0, 3)]).toEqual([TokenType.unknown, TokenType.control, TokenType.control]);
    expect(v.tokens[3]).toBe('<0x00>');
    expect(v.tokens[3 + 0x0a]).toBe('<0x0A>');
    expect(v.tokens[258]).toBe('<0xFF>');
    expect([...v.types.slice(3, 259)].every((t) => t === TokenType.byte)).toBe(true);
    expect(v.tokens[v.eotId]).toBe(IM_END);
    expect(v.types[v.tokens.indexOf(IM_START)]).toBe(TokenType.control);
  });

  it('holds every prefix of each word piece, so SPM merges can reach it', () => {
    const v = buildVocabulary(4096);
    const tokens = new Set(v.tokens);
    for (const piece of ['▁the', '▁hello', '▁world', 'question', '▁The']) {
      expect(tokens.has(piece)).toBe(true);
      for (let len = 1; len < piece.length; len++) expect(tokens.has(piece.slice(0, len))).toBe(true);
    }
  });

  it('scores longer pieces higher than their prefixes', () => {
    const v = buildVocabulary(4096);
    const score = (piece: string) => v.scores[v.tokens.indexOf(piece)];
    expect(score('▁the')).toBeGreaterThan(score('▁th'));
    expect(score('▁th')).toBeGreaterThan(score('▁t'));
  });

  it('holds exactly the fixed tokens at its minimum size', () => {
    const v = buildVocabulary(MIN_VOCAB);
    expect(v.tokens.at(-1)).toBe('~');
    expect(v.tokens).toContain('\u2581');
  });

  it('rejects sizes below the fixed tokens', () => {
    expect(() => buildVocabulary(MIN_VOCAB - 1)).toThrow(RangeError);
  });
});
