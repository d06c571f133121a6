/**
 * Text generation on the context's sequences: raw completions (LlamaCompletion) and chats
 * (LlamaChat with the model's own template). Each call borrows one slot from the pool for
 * its whole duration, so `--parallel N` requests run side by side and the rest queue FIFO.
 * Aborting the caller's signal (a client that went away) or `abortAll` (shutdown) stops
 * the evaluation and gives the slot back.
 */
import {
  LlamaChat,
  LlamaCompletion,
  TokenBias,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaContext,
  type LlamaChatResponse,
  type LlamaCompletionResponse,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { DoneEvent, GenerateEvent } from '../dialects/canonical.js';
import { WarmgateError } from '../errors.js';
import type { GenerationParams } from './sampling.js';
import { SlotPool } from './slot-pool.js';
import { GenerationClock } from './timings.js';
import { TokenLimit } from './token-limit.js';

/**
 * A finished generation: its text, the canonical `done` event (why it stopped — end of
 * generation, the token limit or a full slot, a stop string — with usage and timings), and
 * the slot that served it. An aborted generation has none: it throws the abort reason.
 */
export interface GenerationResult {
  text: string;
  done: DoneEvent;
  slotId: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Receives each non-empty piece of generated text as it is produced (for streaming). */
export type OnText = (text: string) => void;

/** A finished generation as canonical events, for a whole reply: its text as one delta, then `done`. */
export function replyEvents(r: GenerationResult): GenerateEvent[] {
  return [{ type: 'delta', content: r.text }, r.done];
}

interface Slot {
  id: number;
  sequence: LlamaContextSequence;
}

type Metadata = LlamaCompletionResponse['metadata'] | LlamaChatResponse['metadata'];

type CommonOptions = ReturnType<typeof commonOptions>;

export class Generator {
  readonly #model: LlamaModel;
  readonly #contextSize: number;
  readonly #pool: SlotPool<Slot>;
  readonly #chatWrapper: ChatWrapper;
  readonly #shutdown = new AbortController();
  #neverEog: TokenBias | undefined;

  constructor(context: LlamaContext) {
    this.#model = context.model;
    this.#contextSize = context.contextSize;
    const slots = Array.from({ length: context.totalSequences }, (_, id) => ({ id, sequence: context.getSequence() }));
    this.#pool = new SlotPool(slots, (slot) => slot.sequence.clearHistory());
    this.#chatWrapper = resolveChatWrapper(context.model);
  }

  get slots(): number {
    return this.#pool.total;
  }

  /**
   * A raw prompt's tokens (text is tokenized with special tokens parsed, like llama-server),
   * without the BOS token that LlamaCompletion prepends itself. Throws a 400 when the prompt
   * is empty or does not fit the slot, so routes can call it before a stream starts.
   */
  promptTokens(prompt: string | readonly number[]): Token[] {
    const tokens = typeof prompt === 'string' ? this.#model.tokenize(prompt, true) : ([...prompt] as Token[]);
    if (tokens.length > 0 && tokens[0] === this.#model.tokens.bos) tokens.shift();
    if (tokens.length === 0) throw new WarmgateError('BAD_REQUEST', 'the prompt is empty');
    if (tokens.length + 1 >= this.#contextSize) {
      throw new WarmgateError('BAD_REQUEST', `the prompt (${tokens.length} tokens) exceeds the slot's context size (${this.#contextSize})`);
    }
    return tokens;
  }

  /** Completes `promptTokens(...)` as is. */
  async complete(tokens: readonly Token[], params: GenerationParams, onText: OnText | undefined, signal: AbortSignal): Promise<GenerationResult> {
    return this.#run(params, onText, signal, async (slot, common) => {
      const completion = new LlamaCompletion({ contextSequence: slot.sequence });
      try {
        const { response, metadata } = await completion.generateCompletionWithMeta([...tokens], {
          ...common,
          // Stop at a full context instead of shifting it, like llama-server without --context-shift.
          disableContextShift: true,
        });
        return { text: response, metadata };
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    });
  }

  /** Answers a conversation formatted by the model's chat template; a trailing assistant message is continued. */
  async chat(messages: readonly ChatMessage[], params: GenerationParams, onText: OnText | undefined, signal: AbortSignal): Promise<GenerationResult> {
    const history = toChatHistory(messages);
    return this.#run(params, onText, signal, async (slot, common) => {
      const chat = new LlamaChat({ contextSequence: slot.sequence, chatWrapper: this.#chatWrapper });
      try {
        const { response, metadata } = await chat.generateResponse(history, common);
        return { text: response, metadata };
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    });
  }

  /** Stops every generation and every queued request (graceful shutdown). */
  abortAll(): void {
    const reason = new WarmgateError('UNAVAILABLE', 'the worker is shutting down');
    this.#shutdown.abort(reason);
    this.#pool.rejectWaiters(reason);
  }

  async #run(
    params: GenerationParams,
    onText: OnText | undefined,
    requestSignal: AbortSignal,
    generate: (slot: Slot, common: CommonOptions) => Promise<{ text: string; metadata: Metadata }>,
  ): Promise<GenerationResult> {
    const signal = AbortSignal.any([requestSignal, this.#shutdown.signal]);
    return this.#pool.use(signal, async (slot) => {
      const clock = new GenerationClock(slot.sequence);
      if (params.maxTokens === 0) return { text: '', done: { type: 'done', finishReason: 'length', ...clock.finish() }, slotId: slot.id };
      const tokenBias = params.ignoreEos ? this.#eogBias() : undefined;
      const limit = new TokenLimit(this.#model, params.maxTokens, nonEmpty(onText), (n) => clock.token(n));
      const { text, metadata } = await generate(slot, commonOptions(params, signal, tokenBias, limit));
      return { text: limit.text(text), done: { type: 'done', ...stopOf(metadata), ...clock.finish() }, slotId: slot.id };
    });
  }

  /** Built on first use: it scans the vocabulary. */
  #eogBias(): TokenBias {
    this.#neverEog ??= forbidEndOfGeneration(this.#model);
    return this.#neverEog;
  }
}

/** A token bias that forbids every end-of-generation token (llama-server's `ignore_eos`). */
export function forbidEndOfGeneration(model: LlamaModel): TokenBias {
  const eog = [...model.iterateAllTokens()].filter((t) => model.isEogToken(t));
  return new TokenBias(model.tokenizer).set(eog, 'never');
}

/** The generation options LlamaCompletion and LlamaChat share. */
function commonOptions(p: GenerationParams, signal: AbortSignal, tokenBias: TokenBias | undefined, limit: TokenLimit) {
  return {
    signal,
    tokenBias,
    onToken: limit.onToken,
    onTextChunk: limit.onTextChunk,
    maxTokens: p.maxTokens,
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
    minP: p.minP,
    seed: p.seed,
    repeatPenalty: p.repeatPenalty,
    customStopTriggers: p.stop.length > 0 ? p.stop : undefined,
  };
}

function stopOf(metadata: Metadata): Pick<DoneEvent, 'finishReason' | 'stopWord'> {
  switch (metadata.stopReason) {
    case 'customStopTrigger':
      return { finishReason: 'stop', stopWord: metadata.customStopTrigger.filter((p) => typeof p === 'string').join('') };
    case 'maxTokens':
      return { finishReason: 'length' };
    default:
      return { finishReason: 'stop' };
  }
}

function nonEmpty(onText: OnText | undefined): OnText | undefined {
  return onText && ((text) => {
    if (text !== '') onText(text);
  });
}

function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'assistant'
      ? { type: 'model', response: [m.content] }
      : m.role === 'system'
        ? { type: 'system', text: m.content }
        : { type: 'user', text: m.content },
  );
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}
