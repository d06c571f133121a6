/**
 * llama-server's native endpoints: /health, /props, /completion, /embedding, /tokenize,
 * /detokenize. Reply shapes follow llama-server; `/props` adds a `warmgate` object with the
 * worker's measured memory (that is how a worker reports its footprint to the gateway).
 */
import { Hono } from 'hono';
import {
  detokenizeSchema, llamaServerCompletionSchema, llamaServerEmbeddingSchema, tokenizeSchema,
} from '../dialects/llama-server-bodies.js';
import { LlamaCompletionRenderer, llamaEmbeddingReply } from '../dialects/llama-server-native.js';
import { readBody } from './api-error.js';
import { replyEvents } from './generator.js';
import { clientSignal, embedderOf, generatorOf, streamEvents, type WorkerEnv } from './route-kit.js';
import { toGenerationParams } from './sampling.js';

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

  // The last object also names the slot that served the request, as llama-server's does.
  app.post('/completion', async (c) => {
    const body = await readBody(c, llamaServerCompletionSchema);
    const generator = generatorOf(c);
    const tokens = generator.promptTokens(body.prompt);
    const params = toGenerationParams(body, body.n_predict ?? body.max_tokens, c.get('engine').info.contextSize);
    const renderer = new LlamaCompletionRenderer({ model: c.get('engine').info.alias });
    if (!body.stream) {
      const r = await generator.complete(tokens, params, undefined, clientSignal(c));
      return c.json({ ...renderer.final(replyEvents(r)), id_slot: r.slotId });
    }
    return streamEvents(c, async (emit) => {
      const r = await generator.complete(tokens, params, (content) => emit(renderer.chunk({ type: 'delta', content })), clientSignal(c));
      emit({ ...renderer.chunk(r.done), id_slot: r.slotId });
    });
  });

  app.post('/embedding', async (c) => {
    const body = await readBody(c, llamaServerEmbeddingSchema);
    const inputs = body.input ?? body.content ?? [];
    return c.json(llamaEmbeddingReply(await embedderOf(c).embed(inputs, clientSignal(c))));
  });

  app.post('/tokenize', async (c) => {
    const body = await readBody(c, tokenizeSchema);
    const engine = c.get('engine');
    const tokens = engine.tokenize(body.content, body.add_special);
    if (!body.with_pieces) return c.json({ tokens });
    // Each piece is detokenized after its predecessor, so leading spaces survive.
    return c.json({ tokens: tokens.map((id, i) => ({ id, piece: engine.detokenize([id], tokens.slice(0, i)) })) });
  });

  app.post('/detokenize', async (c) => {
    const body = await readBody(c, detokenizeSchema);
    return c.json({ content: c.get('engine').detokenize(body.tokens) });
  });

  return app;
}
