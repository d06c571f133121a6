/**
 * llama-server's OpenAI-compatible endpoints: /v1/models, /v1/chat/completions,
 * /v1/completions, /v1/embeddings. Replies carry OpenAI's `usage` plus llama-server's
 * `timings`. Streams are SSE chunks ending with `data: [DONE]`; the finishing chunk carries
 * `timings`, and with `stream_options.include_usage` one more chunk (no choices) carries
 * `usage` and `timings`.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { float32Base64 } from '../dialects/embedding-vectors.js';
import { readBody } from './api-error.js';
import type { ChatMessage, GenerationResult, OnText } from './generator.js';
import { clientSignal, EmbeddingInputSchema, embedderOf, generatorOf, streamEvents, TokenIdsSchema, type WorkerContext, type WorkerEnv } from './route-kit.js';
import { samplingFields, toGenerationParams } from './sampling.js';
import { llamaTimings } from '../dialects/llama-server.js';
import { openAiUsage } from './timings.js';

const ContentPart = z.object({ type: z.string(), text: z.string().optional() });

const Message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
  })
  .transform((m, ctx): ChatMessage => {
    const parts = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content ?? []);
    if (parts.some((p) => p.type !== 'text')) {
      ctx.addIssue({ code: 'custom', message: 'only text content is supported', path: ['content'] });
    }
    const role = m.role === 'developer' ? 'system' : m.role === 'tool' ? 'user' : m.role;
    return { role, content: parts.map((p) => p.text ?? '').join('') };
  });

const generationFields = {
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  n_predict: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  ...samplingFields,
};

const ChatBody = z.object({ messages: z.array(Message).min(1), ...generationFields });

const CompletionsBody = z.object({
  prompt: z.union([z.string(), z.array(z.string()).length(1).transform((p) => p[0]), TokenIdsSchema]),
  ...generationFields,
});

const EmbeddingsBody = z.object({
  input: EmbeddingInputSchema,
  encoding_format: z.enum(['float', 'base64']).nullish(),
});

type GenerationBody = z.infer<z.ZodObject<typeof generationFields>>;

/** How chat and text completions differ in shape; everything else is shared. */
interface Flavour {
  object: string;
  chunkObject: string;
  idPrefix: string;
  /** Chunk that opens a stream (chat announces the assistant role). */
  opening?: object;
  choice(text: string, finishReason: string | null, streamed: boolean): object;
}

const chatFlavour: Flavour = {
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  idPrefix: 'chatcmpl-',
  opening: { index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null },
  choice: (text, finish_reason, streamed) =>
    streamed
      ? { index: 0, delta: text === '' ? {} : { content: text }, finish_reason }
      : { index: 0, message: { role: 'assistant', content: text }, finish_reason, logprobs: null },
};

const textFlavour: Flavour = {
  object: 'text_completion',
  chunkObject: 'text_completion',
  idPrefix: 'cmpl-',
  choice: (text, finish_reason) => ({ index: 0, text, logprobs: null, finish_reason }),
};

export function openAiRoutes(): Hono<WorkerEnv> {
  const app = new Hono<WorkerEnv>();

  app.get('/v1/models', (c) => {
    const { info } = c.get('engine');
    return c.json({
      object: 'list',
      data: [{
        id: info.alias,
        object: 'model',
        created: Math.floor(Date.now() / 1000),
        owned_by: 'llamacpp',
        meta: { n_ctx_train: info.trainContextSize, n_embd: info.embeddingSize, size: info.modelBytes },
      }],
    });
  });

  app.post('/v1/chat/completions', async (c) => {
    const body = await readBody(c, ChatBody);
    const generator = generatorOf(c);
    const params = toGenerationParams(body, maxTokensOf(body), c.get('engine').info.contextSize);
    return respond(c, chatFlavour, body, (onText) => generator.chat(body.messages, params, onText, clientSignal(c)));
  });

  app.post('/v1/completions', async (c) => {
    const body = await readBody(c, CompletionsBody);
    const generator = generatorOf(c);
    const tokens = generator.promptTokens(body.prompt);
    const params = toGenerationParams(body, maxTokensOf(body), c.get('engine').info.contextSize);
    return respond(c, textFlavour, body, (onText) => generator.complete(tokens, params, onText, clientSignal(c)));
  });

  app.post('/v1/embeddings', async (c) => {
    const body = await readBody(c, EmbeddingsBody);
    const { vectors, promptTokens } = await embedderOf(c).embed(body.input, clientSignal(c));
    const base64 = body.encoding_format === 'base64';
    return c.json({
      object: 'list',
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(v) : v })),
      model: c.get('engine').info.alias,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  });

  return app;
}

function maxTokensOf(body: GenerationBody): number | null | undefined {
  return body.max_completion_tokens ?? body.max_tokens ?? body.n_predict;
}

async function respond(
  c: WorkerContext,
  flavour: Flavour,
  body: GenerationBody,
  run: (onText: OnText | undefined) => Promise<GenerationResult>,
): Promise<Response> {
  const head = { id: `${flavour.idPrefix}${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: c.get('engine').info.alias };
  if (!body.stream) {
    const r = await run(undefined);
    return c.json({
      ...head,
      object: flavour.object,
      choices: [flavour.choice(r.text, finishReason(r), false)],
      usage: openAiUsage(r.stats),
      timings: llamaTimings(r.stats),
    });
  }
  return streamEvents(c, async (emit) => {
    const chunk = (choices: object[], extra: object = {}) => emit({ ...head, object: flavour.chunkObject, choices, ...extra });
    if (flavour.opening) chunk([flavour.opening]);
    const r = await run((text) => {
      if (text !== '') chunk([flavour.choice(text, null, true)]);
    });
    const timings = llamaTimings(r.stats);
    chunk([flavour.choice('', finishReason(r), true)], { timings });
    if (body.stream_options?.include_usage) chunk([], { usage: openAiUsage(r.stats), timings });
    emit('[DONE]');
  });
}

function finishReason(r: GenerationResult): 'length' | 'stop' {
  return r.stopType === 'limit' ? 'length' : 'stop';
}
