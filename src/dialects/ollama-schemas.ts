import { z } from 'zod';
import { keepAliveSeconds } from '../config/units.js';
import { modelField, samplingShape, textOrTexts } from './schema-fields.js';

/**
 * Ollama's native request bodies. Every object is loose: fields the gateway does not know
 * (`template`, `context`, `think`, new options) are kept, because to an Ollama backend the
 * body passes through. Only what the gateway reads is typed.
 */

/**
 * A number of seconds, or a Go duration string. Invalid strings get Go's own message, as
 * the daemon answers them ("300" without a unit is `time: missing unit in duration "300"`).
 */
const keepAliveField = z.union([z.number(), z.string()], { error: 'keep_alive must be a number of seconds or a duration string like "5m"' })
  .superRefine((value, ctx) => {
    if (keepAliveSeconds(value) !== undefined) return;
    const missingUnit = typeof value === 'string' && /^[-+]?\d+(\.\d+)?$/.test(value.trim());
    ctx.addIssue({ code: 'custom', message: `time: ${missingUnit ? 'missing unit in' : 'invalid'} duration ${JSON.stringify(value)}` });
  });

/** `options`: typed sampling fields (a wrong type is a 400, as in Ollama), everything else kept. */
const ollamaOptionsSchema = z.object(samplingShape).loose();

const common = {
  model: modelField,
  stream: z.boolean().nullish(),
  format: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
  options: ollamaOptionsSchema.nullish(),
  keep_alive: keepAliveField.nullish(),
};

const toolCallSchema = z.object({
  function: z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).default({}) }).loose(),
}).loose();

export const ollamaMessageSchema = z.object({
  role: z.string({ error: 'role is required' }),
  content: z.string().nullish(),
  images: z.array(z.string()).nullish(),
  thinking: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_name: z.string().nullish(),
  tool_call_id: z.string().nullish(),
}).loose();

/** `/api/chat`. No messages is Ollama's preload. */
export const ollamaChatSchema = z.object({
  ...common,
  messages: z.array(ollamaMessageSchema).nullish(),
  tools: z.array(z.unknown()).nullish(),
}).loose();

/** `/api/generate`. An empty prompt is Ollama's preload. */
export const ollamaGenerateSchema = z.object({
  ...common,
  prompt: z.string().nullish(),
  suffix: z.string().nullish(),
  system: z.string().nullish(),
  raw: z.boolean().nullish(),
  images: z.array(z.string()).nullish(),
}).loose();

const embedCommon = { model: modelField, options: ollamaOptionsSchema.nullish(), keep_alive: keepAliveField.nullish() };

/** `/api/embed`: `input` is a string or an array of strings; empty input is a preload. */
export const ollamaEmbedSchema = z.object({
  ...embedCommon,
  input: textOrTexts('input').nullish(),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().positive().nullish(),
}).loose();

/** Legacy `/api/embeddings`: one `prompt`, answered with `{embedding}` only. */
export const ollamaEmbeddingsSchema = z.object({ ...embedCommon, prompt: z.string().nullish(), input: textOrTexts('input').nullish() }).loose();

export type OllamaMessage = z.infer<typeof ollamaMessageSchema>;
export type OllamaChatBody = z.infer<typeof ollamaChatSchema>;
export type OllamaGenerateBody = z.infer<typeof ollamaGenerateSchema>;
export type OllamaEmbedBody = z.infer<typeof ollamaEmbedSchema>;
export type OllamaEmbeddingsBody = z.infer<typeof ollamaEmbeddingsSchema>;
