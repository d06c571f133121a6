/**
 * llama-server's OpenAI-compatible endpoints: /v1/models, /v1/chat/completions,
 * /v1/completions, /v1/embeddings. Bodies are parsed with `dialects/llama-server-bodies.ts`;
 * replies are the generation's canonical events rendered by `dialects/openai.ts` as
 * llama-server renders them (its `timings` on the objects that close a reply, the role in an
 * opening chunk of its own). Streams are SSE chunks ending with `data: [DONE]`.
 */
import { Hono } from 'hono';
import type { GenerateEvent } from '../dialects/canonical.js';
import {
  llamaServerChatSchema, llamaServerEmbeddingsSchema, llamaServerTextCompletionSchema,
} from '../dialects/llama-server-bodies.js';
import { OpenAIStreamRenderer, openaiEmbeddingsReply, openaiFinal, openaiMessageToCanonical } from '../dialects/openai.js';
import type { OpenAIMessage } from '../dialects/openai-schemas.js';
import { WarmgateError } from '../errors.js';
import { readBody } from './api-error.js';
import { replyEvents, type ChatMessage, type GenerationResult, type OnText } from './generator.js';
import { clientSignal, embedderOf, generatorOf, streamEvents, type WorkerContext, type WorkerEnv } from './route-kit.js';
import { toGenerationParams } from './sampling.js';

type Kind = 'chat' | 'completion';

/** The chat template's roles: `developer` speaks as the system, a tool's result as the user. */
const ROLES: Record<string, ChatMessage['role']> = { system: 'system', developer: 'system', user: 'user', tool: 'user', assistant: 'assistant' };

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
    const body = await readBody(c, llamaServerChatSchema);
    const generator = generatorOf(c);
    const messages = chatMessages(body.messages);
    const params = toGenerationParams(body, body.max_completion_tokens ?? body.max_tokens ?? body.n_predict, c.get('engine').info.contextSize);
    return respond(c, 'chat', body, (onText) => generator.chat(messages, params, onText, clientSignal(c)));
  });

  app.post('/v1/completions', async (c) => {
    const body = await readBody(c, llamaServerTextCompletionSchema);
    const generator = generatorOf(c);
    const tokens = generator.promptTokens(body.prompt);
    const params = toGenerationParams(body, body.max_tokens ?? body.n_predict, c.get('engine').info.contextSize);
    return respond(c, 'completion', body, (onText) => generator.complete(tokens, params, onText, clientSignal(c)));
  });

  app.post('/v1/embeddings', async (c) => {
    const body = await readBody(c, llamaServerEmbeddingsSchema);
    const result = await embedderOf(c).embed(body.input, clientSignal(c));
    return c.json(openaiEmbeddingsReply(result, { model: c.get('engine').info.alias, encoding: body.encoding_format ?? 'float' }));
  });

  return app;
}

/** OpenAI messages as the chat template takes them: text only. */
function chatMessages(messages: readonly OpenAIMessage[]): ChatMessage[] {
  return messages.map(openaiMessageToCanonical).map((m, i) => {
    const role = ROLES[m.role];
    if (!role) throw new WarmgateError('BAD_REQUEST', `messages.${i}.role: expected one of ${Object.keys(ROLES).join(', ')}`);
    if (m.images) throw new WarmgateError('BAD_REQUEST', `messages.${i}.content: only text content is supported`);
    return { role, content: m.content };
  });
}

async function respond(
  c: WorkerContext,
  kind: Kind,
  body: { stream?: boolean | null; stream_options?: { include_usage?: boolean | null } | null },
  run: (onText: OnText | undefined) => Promise<GenerationResult>,
): Promise<Response> {
  const meta = { model: c.get('engine').info.alias, llamaServer: true };
  if (!body.stream) return c.json(openaiFinal(kind, replyEvents(await run(undefined)), meta));
  const renderer = new OpenAIStreamRenderer({ kind, ...meta, includeUsage: body.stream_options?.include_usage ?? false });
  return streamEvents(c, async (emit) => {
    const send = (ev: GenerateEvent) => renderer.chunks(ev).forEach((chunk) => emit(chunk));
    const { done } = await run((content) => send({ type: 'delta', content }));
    send(done);
    emit('[DONE]');
  });
}
