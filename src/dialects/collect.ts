import { WarmgateError } from '../errors.js';
import type { GenerateEvent, ToolCall } from './canonical.js';

export type DoneEvent = Extract<GenerateEvent, { type: 'done' }>;

/** A whole reply folded from its events, for dialects' non-streamed replies. */
export interface CollectedReply {
  content: string;
  thinking?: string;
  toolCalls: ToolCall[];
  done: DoneEvent;
}

/** Folds events into one reply; throws UPSTREAM_ERROR when they lack the final `done`. */
export function collectReply(events: readonly GenerateEvent[]): CollectedReply {
  let content = '';
  let thinking: string | undefined;
  const toolCalls: ToolCall[] = [];
  let done: DoneEvent | undefined;
  for (const ev of events) {
    if (ev.type === 'done') {
      done = ev;
      continue;
    }
    content += ev.content;
    if (ev.thinking) thinking = (thinking ?? '') + ev.thinking;
    if (ev.toolCalls) toolCalls.push(...ev.toolCalls);
  }
  if (!done) throw new WarmgateError('UPSTREAM_ERROR', 'upstream reply ended before its final chunk');
  return { content, thinking, toolCalls, done };
}
