/**
 * llama-server's native endpoints: /health, /props, /completion, /embedding, /tokenize,
 * /detokenize. Reply shapes follow llama-server; `/props` adds a `warmgate` object with the
 * worker's measured memory (that is how a worker reports its footprint to the gateway).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { readBody } from './api-error.js';
import type { GenerationResult } from './generator.js';
import { clientSignal, EmbeddingInputSchema, embedderOf, generatorOf, streamEvents, TokenIdsSchema, type WorkerContext, type WorkerEnv } from './route-kit.js';
import { samplingFields, toGenerationParams } from './sampling.js';
import { llamaTimings } from '../dialects/llama-server.js';

const CompletionBody = z.object({
  prompt: z.union([z.string(), TokenIdsSchema]),
  n_predict: z.number().int().nullish(),
  max_tokens: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  ...samplingFields,
});

/** llama-server takes the input as `content` (or `input`). */
const EmbeddingBody = z
  .object({ content: EmbeddingInputSchema.optional(), input: EmbeddingInputSchema.optional() })
  .transform((b, ctx) => {
    const input = b.content ?? b.input;
    if (input !== undefined) return input;
    ctx.addIssue({ code: 'custom', message: '"content" is required', path: ['content'] });
    return z.NEVER;
  });

const TokenizeBody = z.object({
  content: z.string(),
  add_special: z.boolean().default(false),
  with_pieces: z.boolean().default(false),
});

const DetokenizeBody = z.object({ tokens: TokenIdsSchema });

export function nativeRoutes(): Hono<WorkerEnv> {
  const app = new Hono<WorkerEnv>();

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/props', async (c) => {
    const engine = c.get('engine');
    const { info } = engine;
    return c.json({
      default_generation_settings: { n_ctx: info.contextSize },
      total_slots: info.slots,
      model_path: info.modelPath,
      chat_template: info.chatTemplate,
      warmgate: { ...(await engine.memory()), load_ms: info.loadMs, gpu_layers: info.gpuLayers },
    });
  });

  app.post('/completion', async (c) => {
    const body = await readBody(c, CompletionBody);
    const generator = generatorOf(c);
    const tokens = generator.promptTokens(body.prompt);
    const params = toGenerationParams(body, body.n_predict ?? body.max_tokens, c.get('engine').info.contextSize);
    if (!body.stream) return c.json(completionReply(c, await generator.complete(tokens, params, undefined, clientSignal(c))));
    return streamEvents(c, async (emit) => {
      const onText = (content: string) => {
        if (content !== '') emit({ index: 0, content, tokens: [], stop: false });
      };
      emit(completionReply(c, await generator.complete(tokens, params, onText, clientSignal(c)), ''));
    });
  });

  app.post('/embedding', async (c) => {
    const inputs = await readBody(c, EmbeddingBody);
    const { vectors } = await embedderOf(c).embed(inputs, clientSignal(c));
    // One row per input; a pooled embedding is a single vector (llama-server nests it likewise).
    return c.json(vectors.map((embedding, index) => ({ index, embedding: [embedding] })));
  });

  app.post('/tokenize', async (c) => {
    const body = await readBody(c, TokenizeBody);
    const engine = c.get('engine');
    const tokens = engine.tokenize(body.content, body.add_special);
    if (!body.with_pieces) return c.json({ tokens });
    // Each piece is detokenized after its predecessor, so leading spaces survive.
    return c.json({ tokens: tokens.map((id, i) => ({ id, piece: engine.detokenize([id], tokens.slice(0, i)) })) });
  });

  app.post('/detokenize', async (c) => {
    const body = await readBody(c, DetokenizeBody);
    return c.json({ content: c.get('engine').detokenize(body.tokens) });
  });

  return app;
}

/** The final `/completion` object; streams send it last with `content: ''` (the text went in chunks). */
function completionReply(c: WorkerContext, r: GenerationResult, content = r.text) {
  return {
    index: 0,
    content,
    tokens: [],
    id_slot: r.slotId,
    stop: true,
    model: c.get('engine').info.alias,
    tokens_predicted: r.stats.predictedTokens,
    tokens_evaluated: r.stats.promptTokens,
    tokens_cached: 0,
    truncated: false,
    stop_type: r.stopType,
    stopping_word: r.stoppingWord,
    timings: llamaTimings(r.stats),
  };
}
