import { z } from 'zod';
import { llamaCompletionSchema, llamaEmbeddingFields, requireEmbeddingInput } from './llama-server-native.js';
import { openaiChatSchema, openaiCompletionSchema, openaiEmbeddingsSchema } from './openai-schemas.js';
import { llamaSamplingShape } from './schema-fields.js';

/**
 * The request bodies as llama-server itself reads them, for the worker (which answers as
 * llama-server): the gateway's OpenAI and native schemas, extended where llama-server takes
 * more. It serves one model, so `model` may be missing; token ids go wherever text goes; a
 * token limit may be any integer (negative: until the context is full; the gateway sends
 * Ollama's -1 and -2 on as `max_tokens`); and its own sampling fields are read.
 */

/** Token ids as clients send them. */
export const tokenIdsSchema = z.array(z.number().int().min(0));

const someTokens = tokenIdsSchema.min(1, 'a token array must not be empty');

/** A prompt: text (alone or as a one-element array), or token ids. */
const promptSchema = z.union([z.string(), z.array(z.string()).length(1).transform((p) => p[0]), tokenIdsSchema]);

/** Embedding input: a string, strings, token ids or arrays of them; always parsed to a list. */
const embeddingInputSchema = z
  .union([z.string(), z.array(z.string()).min(1), someTokens, z.array(someTokens).min(1)])
  .transform((input) => (typeof input === 'string' || typeof input[0] === 'number' ? [input as string | number[]] : (input as Array<string | number[]>)));

const tokenLimit = z.number().int().nullish();
const generationFields = { model: z.string().nullish(), n_predict: tokenLimit, max_tokens: tokenLimit, ...llamaSamplingShape };

export const llamaServerChatSchema = openaiChatSchema.extend({ ...generationFields, max_completion_tokens: tokenLimit });
export const llamaServerTextCompletionSchema = openaiCompletionSchema.extend({ ...generationFields, prompt: promptSchema });
export const llamaServerCompletionSchema = llamaCompletionSchema.extend({ ...generationFields, prompt: promptSchema });

export const llamaServerEmbeddingsSchema = openaiEmbeddingsSchema.extend({ model: z.string().nullish(), input: embeddingInputSchema });
export const llamaServerEmbeddingSchema = requireEmbeddingInput(
  llamaEmbeddingFields.extend({ input: embeddingInputSchema.nullish(), content: embeddingInputSchema.nullish() }),
);

export const tokenizeSchema = z.object({
  content: z.string(),
  add_special: z.boolean().default(false),
  with_pieces: z.boolean().default(false),
});

export const detokenizeSchema = z.object({ tokens: tokenIdsSchema });
