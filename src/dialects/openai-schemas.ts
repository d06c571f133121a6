import { z } from 'zod';
import { modelField, samplingShape, singleText, stringOr, textOrTexts } from './schema-fields.js';

/**
 * OpenAI request bodies (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`).
 * Loose: unknown fields are kept. Besides OpenAI's own sampling fields, llama-server's
 * extensions `top_k`, `min_p` and `repeat_penalty` are read, since llama-server clients
 * send them to the same paths.
 */

const sampling = z.object(samplingShape).omit({ num_predict: true });

const streamFields = {
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).loose().nullish(),
  n: z.literal(1, { error: 'only n = 1 is supported' }).nullish(),
};

const contentPartSchema = z.object({
  type: z.enum(['text', 'image_url'], {
    error: (iss) => `content part type ${JSON.stringify(iss.input)} is not supported; use "text" or "image_url"`,
  }),
  text: z.string().optional(),
  image_url: stringOr(z.object({ url: z.string() }).loose(), 'image_url must be a string or {"url": ...}').optional(),
}).loose();

const toolCallSchema = z.object({
  id: z.string().optional(),
  type: z.string().optional(),
  function: z.object({ name: z.string(), arguments: z.string().default('{}') }).loose(),
}).loose();

export const openaiMessageSchema = z.object({
  role: z.string({ error: 'role is required' }),
  content: stringOr(z.array(contentPartSchema), 'content must be a string or an array of content parts').nullish(),
  name: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_call_id: z.string().nullish(),
}).loose();

const responseFormatSchema = z.object({
  type: z.enum(['text', 'json_object', 'json_schema'], { error: 'response_format.type must be "text", "json_object" or "json_schema"' }),
  json_schema: z.object({ schema: z.record(z.string(), z.unknown()).optional() }).loose().optional(),
}).loose();

/** A token limit: OpenAI refuses one below 1 (`-1` is not "unlimited" there). */
function tokenLimit(name: string) {
  return z.number({ error: `${name} must be an integer of at least 1` }).int(`${name} must be an integer of at least 1`).min(1, `${name} must be an integer of at least 1`).nullish();
}

export const openaiChatSchema = sampling.extend({
  model: modelField,
  messages: z.array(openaiMessageSchema, { error: 'messages must be an array' }).min(1, 'messages must contain at least one message'),
  max_tokens: tokenLimit('max_tokens'),
  max_completion_tokens: tokenLimit('max_completion_tokens'),
  response_format: responseFormatSchema.nullish(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high'], { error: 'reasoning_effort must be "none", "minimal", "low", "medium" or "high"' }).nullish(),
  tools: z.array(z.object({ type: z.string(), function: z.object({ name: z.string() }).loose() }).loose()).nullish(),
  ...streamFields,
}).loose();

export const openaiCompletionSchema = sampling.extend({
  model: modelField,
  prompt: singleText('prompt'),
  suffix: z.string().nullish(),
  max_tokens: tokenLimit('max_tokens'),
  echo: z.literal(false, { error: 'echo is not supported' }).nullish(),
  ...streamFields,
}).loose();

export const openaiEmbeddingsSchema = z.object({
  model: modelField,
  input: textOrTexts('input').refine((v) => v.length > 0, { message: 'input must not be empty' }),
  encoding_format: z.enum(['float', 'base64'], { error: 'encoding_format must be "float" or "base64"' }).nullish(),
  dimensions: z.number().int().positive().nullish(),
}).loose();

export type OpenAIMessage = z.infer<typeof openaiMessageSchema>;
export type OpenAIChatBody = z.infer<typeof openaiChatSchema>;
export type OpenAICompletionBody = z.infer<typeof openaiCompletionSchema>;
export type OpenAIEmbeddingsBody = z.infer<typeof openaiEmbeddingsSchema>;
