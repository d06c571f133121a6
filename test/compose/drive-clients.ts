import { Ollama } from 'ollama';

/**
 * The client mix of the compose test, sent through Warmgate's published port to the stack
 * (Warmgate in its container, the scripted Ollama behind it). Mostly AnythingLLM, as
 * RUNTIMES.md describes it with the `ollama` npm client it uses:
 *   - before each chat: GET /api/tags, then POST /api/show for EVERY model at once;
 *   - chat: POST /api/chat, streamed, keep_alive 300, options.num_ctx = min(model ctx, 16384), temperature;
 *   - embedder: GET / (must be 2xx) before every call, POST /api/embed with one-input arrays,
 *     one request at a time, options.num_ctx = its max chunk length (1000), no keep_alive;
 * plus Open WebUI's chat (no options) and its /api/ps and /api/version polls, and an OpenAI
 * SDK style /v1/chat/completions: the mix that makes a bare Ollama reload on every switch.
 * Then reads GET /warmgate/requests. Prints one JSON summary line; exits 1 on a failed check.
 *
 *   tsx test/compose/drive-clients.ts http://127.0.0.1:PORT [rounds]
 */

const CHAT = 'llama3.2:latest';
const EMBED = 'nomic-embed-text:latest';

const base = process.argv[2];
const rounds = Number(process.argv[3] ?? 3);
if (!base) {
  process.stderr.write('usage: drive-clients.ts BASE_URL [rounds]\n');
  process.exit(2);
}

const problems: string[] = [];
function check(ok: boolean, what: string): void {
  if (!ok) problems.push(what);
}

const ollama = new Ollama({ host: base });
const counts: Record<string, number> = {};
const count = (what: string) => (counts[what] = (counts[what] ?? 0) + 1);

async function anythingLlmChat(question: string): Promise<void> {
  const { models } = await ollama.list();
  count('anythingllm GET /api/tags');
  const shown = await Promise.all(models.map((m) => ollama.show({ model: m.name })));
  count('anythingllm POST /api/show (every model)');
  const chatShow = shown[models.findIndex((m) => m.name === CHAT)];
  check(Array.isArray(chatShow?.capabilities), 'show has capabilities[]');
  // Typed as a Map by the client, a plain JSON object on the wire.
  const info = (chatShow?.model_info ?? {}) as unknown as Record<string, unknown>;
  const ctxKey = Object.keys(info).find((k) => k.endsWith('.context_length'));
  const ctx = Math.min(Number(ctxKey ? info[ctxKey] : 4096), 16384);
  const stream = await ollama.chat({
    model: CHAT, stream: true, keep_alive: 300, options: { num_ctx: ctx, temperature: 0.7 },
    messages: [{ role: 'user', content: question }],
  });
  let text = '';
  let done = false;
  for await (const part of stream) {
    text += part.message.content;
    done ||= part.done;
  }
  check(done && text.includes(question), `AnythingLLM chat streamed the reply (${JSON.stringify(text)})`);
  count('anythingllm POST /api/chat (stream, num_ctx 16384, keep_alive 300)');
}

async function anythingLlmEmbed(chunks: string[]): Promise<void> {
  for (const chunk of chunks) {
    const alive = await fetch(`${base}/`);
    check(alive.ok, `GET / answers 2xx (got ${alive.status})`);
    count('anythingllm embedder GET /');
    const reply = await ollama.embed({ model: EMBED, input: [chunk], options: { num_ctx: 1000 } });
    check(reply.embeddings.length === 1 && reply.embeddings[0].length > 0, 'embed returned one vector');
    count('anythingllm embedder POST /api/embed (num_ctx 1000)');
  }
}

async function openWebUi(question: string): Promise<void> {
  const [ps, version] = await Promise.all([fetch(`${base}/api/ps`), fetch(`${base}/api/version`)]);
  check(ps.ok && version.ok, 'Open WebUI polls /api/ps and /api/version');
  count('openwebui GET /api/ps + /api/version');
  const stream = await ollama.chat({ model: CHAT, stream: true, messages: [{ role: 'user', content: question }] });
  let done = false;
  for await (const part of stream) done ||= part.done;
  check(done, 'Open WebUI chat ended with done: true');
  count('openwebui POST /api/chat (no options)');
}

async function openAi(question: string): Promise<void> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer null' },
    body: JSON.stringify({ model: CHAT, messages: [{ role: 'user', content: question }], max_tokens: 32 }),
  });
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }> };
  check(res.ok && typeof body.choices?.[0]?.message?.content === 'string', `/v1/chat/completions answered (status ${res.status})`);
  count('openai POST /v1/chat/completions');
}

interface RecordLike { route: string; model?: string; status: number; total_ms?: number; load_ms?: number; queue_ms?: number; ttft_ms?: number; overrides?: Record<string, unknown> }

const started = Date.now();
for (let i = 0; i < rounds; i++) {
  await anythingLlmEmbed([`chunk ${i}a of a document`, `chunk ${i}b of a document`]);
  await anythingLlmChat(`question ${i}`);
  await openWebUi(`hello ${i}`);
  await openAi(`v1 ${i}`);
}
const seconds = (Date.now() - started) / 1000;

const recordsRes = await fetch(`${base}/warmgate/requests?limit=500`);
const records = ((await recordsRes.json()) as { requests: RecordLike[] }).requests;
const timed = records.filter((r) => r.status === 200 && typeof r.total_ms === 'number' && r.total_ms >= 0);
const routes = [...new Set(timed.map((r) => r.route))].sort();
for (const route of ['/api/chat', '/api/embed', '/v1/chat/completions']) {
  check(routes.includes(route), `/warmgate/requests has timed records for ${route} (has ${routes.join(', ')})`);
}
const chatRecord = timed.find((r) => r.route === '/api/chat' && r.ttft_ms !== undefined);
check(chatRecord !== undefined, 'a streamed chat record carries ttft_ms');
const pinned = records.find((r) => r.overrides && 'keep_alive' in r.overrides);
check(pinned !== undefined, 'an AnythingLLM chat record notes the pinned keep_alive');

const summary = {
  rounds,
  seconds,
  calls: counts,
  records: records.length,
  timed_records: timed.length,
  routes,
  example: chatRecord && {
    route: chatRecord.route, model: chatRecord.model, queue_ms: chatRecord.queue_ms, load_ms: chatRecord.load_ms,
    ttft_ms: chatRecord.ttft_ms, total_ms: chatRecord.total_ms,
  },
  problems,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(problems.length ? 1 : 0);
