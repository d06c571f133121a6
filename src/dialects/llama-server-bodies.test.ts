import { describe, expect, it } from 'vitest';
import {
  detokenizeSchema, llamaServerChatSchema, llamaServerCompletionSchema, llamaServerEmbeddingSchema, llamaServerEmbeddingsSchema,
  llamaServerTextCompletionSchema,
} from './llama-server-bodies.js';
import { openaiChatSchema } from './openai-schemas.js';

const messages = [{ role: 'user', content: 'x' }];

describe('bodies as llama-server reads them (the worker)', () => {
  it('need no model, take any token limit and read llama-server sampling fields', () => {
    const chat = llamaServerChatSchema.parse({ messages, max_tokens: -1, n_predict: 5, repeat_last_n: -1, ignore_eos: true, top_k: 5, cache_prompt: true });
    expect(chat).toMatchObject({ max_tokens: -1, n_predict: 5, repeat_last_n: -1, ignore_eos: true, top_k: 5, cache_prompt: true });
    // The gateway's own OpenAI routes still refuse what OpenAI refuses.
    expect(openaiChatSchema.safeParse({ model: 'm', messages, max_tokens: -1 }).success).toBe(false);
    expect(llamaServerCompletionSchema.safeParse({ prompt: 'x', temperature: 'hot' }).error?.issues[0].path).toEqual(['temperature']);
    expect(llamaServerCompletionSchema.safeParse({ prompt: 'x', repeat_last_n: -2 }).success).toBe(false);
  });

  it('take prompts as text, one text in an array, or token ids', () => {
    expect(llamaServerTextCompletionSchema.parse({ prompt: ['once'] }).prompt).toBe('once');
    expect(llamaServerCompletionSchema.parse({ prompt: [1, 2], max_tokens: 0 })).toMatchObject({ prompt: [1, 2], max_tokens: 0 });
    expect(llamaServerCompletionSchema.safeParse({ prompt: ['a', 'b'] }).success).toBe(false);
    expect(detokenizeSchema.safeParse({ tokens: [-1] }).success).toBe(false);
  });

  it('read embedding input as a list of texts or token arrays, from input or else content', () => {
    expect(llamaServerEmbeddingsSchema.parse({ input: 'a' }).input).toEqual(['a']);
    expect(llamaServerEmbeddingsSchema.parse({ input: [1, 2] }).input).toEqual([[1, 2]]);
    expect(llamaServerEmbeddingsSchema.parse({ input: [[1], [2, 3]] }).input).toEqual([[1], [2, 3]]);
    expect(llamaServerEmbeddingsSchema.safeParse({ input: [[]] }).success).toBe(false);
    expect(llamaServerEmbeddingSchema.parse({ content: ['a', 'b'] }).content).toEqual(['a', 'b']);
    expect(llamaServerEmbeddingSchema.safeParse({}).error?.issues[0].message).toBe('"input" or "content" must be provided');
  });
});
