import { z } from 'zod';
import { samplingShape } from './sampling.js';
import { singleText, textOrTexts } from './validation.js';

/**
 * llama-server's native request bodies (`/completion`, `/embedding`). Loose: its many
 * other knobs (`cache_prompt`, `grammar`, `n_probs` ...) are kept for a llama-server
 * backend. `model` is optional: a llama-server serves one model, so the route picks it
 * when the client sends none.
 */

export const llamaCompletionSchema = z.object(samplingShape).omit({ num_predict: true }).extend({
  model: z.string().nullish(),
  prompt: singleText('prompt'),
  /** -1 (llama-server's default) = until end of sequence. */
  n_predict: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  json_schema: z.record(z.string(), z.unknown()).nullish(),
}).loose();

/** `/embedding`: llama-server reads `input`, or else `content`. */
export const llamaEmbeddingSchema = z.object({
  model: z.string().nullish(),
  input: textOrTexts('input').nullish(),
  content: textOrTexts('content').nullish(),
}).loose().refine((b) => (b.input ?? b.content) != null, { message: '"input" or "content" must be provided' });

export type LlamaCompletionBody = z.infer<typeof llamaCompletionSchema>;
export type LlamaEmbeddingBody = z.infer<typeof llamaEmbeddingSchema>;
