import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../dialects/canonical.js';
import {
  canonicalEmbedToLlamaServerBody, canonicalToLlamaServerBody, LlamaServerReplyParser, llamaServerEmbeddingsToResult, llamaServerPath,
} from '../dialects/llama-server.js';
import { sseData } from '../dialects/sse.js';
import { cutToLength, inputTooLong, refusedLength } from './embed-truncation.js';
import { readText, upstreamStatusError, type UpstreamPool } from '../upstream/upstream-pool.js';

/**
 * The calls every llama-server-compatible server answers (a process Warmgate runs, or one
 * it does not), as canonical events: `/v1/chat/completions` or `/v1/completions`, streamed
 * or not, and `/v1/embeddings`. Errors are the pool's and the parser's; the caller decides
 * what a broken connection means.
 */
export async function* llamaServerGenerate(pool: UpstreamPool, backend: string, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
  const parser = new LlamaServerReplyParser();
  const res = await pool.request({ method: 'POST', path: llamaServerPath(req), body: canonicalToLlamaServerBody(req), signal });
  if (res.status >= 400) throw upstreamStatusError(res.status, await readText(res.body), backend);
  if (!req.stream) {
    yield* parser.push(JSON.parse(await readText(res.body)));
  } else {
    for await (const data of sseData(res.body)) {
      if (data === '[DONE]') break;
      yield* parser.push(JSON.parse(data));
    }
  }
  yield* parser.end();
}

/**
 * `model` is the name the server knows the model by. An input over the model's context is
 * cut to fit, unless the request says `truncate: false` (then a 400), as Ollama does.
 */
export async function llamaServerEmbed(pool: UpstreamPool, model: string, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
  const call = async (input: string[]) => llamaServerEmbeddingsToResult(
    await pool.json({ method: 'POST', path: '/v1/embeddings', body: canonicalEmbedToLlamaServerBody({ ...req, input, model }), signal }), req);
  try {
    return await call(req.input);
  } catch (err) {
    const limit = refusedLength(err);
    if (limit === undefined) throw err;
    if (req.truncate === false) throw inputTooLong(limit);
    return call(await cutToLength(pool, req.input, limit, signal));
  }
}
