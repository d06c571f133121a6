import { z } from 'zod';
import { collectReply, type DoneEvent, type EmbedRequest, type EmbedResult, type GenerateEvent, type GenerateRequest } from './canonical.js';
import { doneTimings } from './llama-timings.js';
import { pickSampling, samplingShape, singleText, textOrTexts, theText } from './schema-fields.js';

/**
 * llama-server's native routes (`/completion`, `/embedding`) for clients of any backend:
 * their bodies (schemas, then canonical) and canonical results rendered the way
 * llama-server answers. Schemas are loose: its many other knobs (`cache_prompt`, `grammar`,
 * `n_probs` ...) are kept for a llama-server backend. `model` is optional in the bodies (a
 * llama-server serves one model), so translators take the model the route resolved.
 */

export const llamaCompletionSchema = z.object(samplingShape).omit({ num_predict: true }).extend({
  model: z.string().nullish(),
  prompt: singleText('prompt'),
  /** -1 (llama-server's default) = until end of sequence. */
  n_predict: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  json_schema: z.record(z.string(), z.unknown()).nullish(),
}).loose();

/** `/embedding`'s fields: llama-server reads `input`, or else `content`. */
export const llamaEmbeddingFields = z.object({
  model: z.string().nullish(),
  input: textOrTexts('input').nullish(),
  content: textOrTexts('content').nullish(),
}).loose();

/** An `/embedding` schema that requires one of its inputs. */
export function requireEmbeddingInput<T extends z.ZodType<{ input?: unknown; content?: unknown }>>(fields: T) {
  return fields.refine((b) => (b.input ?? b.content) != null, { message: '"input" or "content" must be provided' });
}

export const llamaEmbeddingSchema = requireEmbeddingInput(llamaEmbeddingFields);

export type LlamaCompletionBody = z.infer<typeof llamaCompletionSchema>;
export type LlamaEmbeddingBody = z.infer<typeof llamaEmbeddingSchema>;

/** `/completion` is raw text completion; `n_predict` -1 (or absent) means no limit. */
export function llamaCompletionToCanonical(body: LlamaCompletionBody, model: string): GenerateRequest {
  const limit = body.n_predict ?? -1;
  return {
    kind: 'completion',
    model,
    prompt: theText(body.prompt),
    raw: true,
    stream: body.stream ?? false,
    sampling: pickSampling({ ...body, num_predict: limit >= 0 ? limit : undefined }),
    format: body.json_schema ?? undefined,
  };
}

export function llamaEmbeddingToCanonical(body: LlamaEmbeddingBody, model: string): EmbedRequest {
  const input = body.input ?? body.content ?? [];
  return { model, input: typeof input === 'string' ? [input] : input };
}

/**
 * `/completion` replies: streamed, one `{content, stop: false}` object per delta (sent as
 * SSE `data:` events, with no `[DONE]`), then a last object with `stop: true`, the token
 * counts, `stop_type` (`word` and its `stopping_word` when a stop string ended it) and
 * `timings`; non-streamed, that last object with all the content. The worker adds the
 * `id_slot` that served it.
 */
export class LlamaCompletionRenderer {
  readonly #model: string;

  constructor(opts: { model: string }) {
    this.#model = opts.model;
  }

  chunk(ev: GenerateEvent): Record<string, unknown> {
    return ev.type === 'delta' ? { index: 0, content: ev.content, tokens: [], stop: false } : this.#last('', ev);
  }

  final(events: readonly GenerateEvent[]): Record<string, unknown> {
    const reply = collectReply(events);
    return this.#last(reply.content, reply.done);
  }

  #last(content: string, done: DoneEvent): Record<string, unknown> {
    return {
      index: 0,
      content,
      tokens: [],
      stop: true,
      model: this.#model,
      tokens_predicted: done.usage.completionTokens,
      tokens_evaluated: done.usage.promptTokens,
      tokens_cached: 0,
      truncated: false,
      stop_type: done.finishReason === 'length' ? 'limit' : done.stopWord === undefined ? 'eos' : 'word',
      stopping_word: done.stopWord ?? '',
      timings: doneTimings(done),
    };
  }
}

/** `/embedding` reply: an array with one `{index, embedding: [vector]}` per input (pooled: one row each). */
export function llamaEmbeddingReply(result: EmbedResult): Array<Record<string, unknown>> {
  return result.embeddings.map((vector, index) => ({ index, embedding: [vector] }));
}
