import { setTimeout as delay } from 'node:timers/promises';
import type { SamplingOptions } from '../../src/dialects/canonical.js';

/**
 * What the fake daemon "generates": deterministic replies, token counts and embedding
 * vectors derived from the request text, and fixed durations, so tests can assert exact
 * values. A token is a word with its leading whitespace.
 */

/** The time `steps` of a model's work take at its pace (`tokenMs` each); no timer when it has none. */
export async function pace(tokenMs: number | undefined, steps: number): Promise<void> {
  if (tokenMs) await delay(tokenMs * steps);
}

/** Fixed durations (nanoseconds, as Ollama reports them). */
export const FAKE_NS = { load: 250_000_000, promptPerToken: 2_000_000, evalPerToken: 10_000_000 } as const;

export function tokensOf(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** Prompt tokens as the fake counts them: words, at least one. */
export function promptTokens(text: string): number {
  return Math.max(1, tokensOf(text).length);
}

/** The default reply: an echo of the last user text, so tests can see what reached the daemon. */
export function echoReply(prompt: string): string {
  return `You said: ${prompt}`;
}

export interface ScriptedReply {
  tokens: string[];
  finish: 'stop' | 'length';
}

/** The reply cut at the first stop string, then at `num_predict` tokens (Ollama's `done_reason: "length"`). */
export function scriptReply(reply: string, sampling: SamplingOptions): ScriptedReply {
  const cut = (sampling.stop ?? []).reduce((text, stop) => (stop && text.includes(stop) ? text.slice(0, text.indexOf(stop)) : text), reply);
  const tokens = tokensOf(cut);
  const limit = sampling.num_predict;
  if (limit !== undefined && limit >= 0 && tokens.length > limit) return { tokens: tokens.slice(0, limit), finish: 'length' };
  return { tokens, finish: 'stop' };
}

/** Ollama's generation metrics for a scripted reply, zero ones left out. */
export function generationMetrics(promptCount: number, evalCount: number, loaded: boolean): Record<string, number> {
  const load = loaded ? FAKE_NS.load : 0;
  const prompt = promptCount * FAKE_NS.promptPerToken;
  const evalNs = evalCount * FAKE_NS.evalPerToken;
  const all: Record<string, number> = {
    total_duration: load + prompt + evalNs, load_duration: load, prompt_eval_count: promptCount,
    prompt_eval_duration: prompt, eval_count: evalCount, eval_duration: evalNs,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v > 0));
}

/** A vector in [-1, 1) that depends only on the text: FNV-1a seeds a mulberry32 generator. */
export function scriptedVector(text: string, dims: number): number[] {
  let seed = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) seed = Math.imul(seed ^ byte, 0x01000193) >>> 0;
  const out: number[] = [];
  for (let i = 0; i < dims; i++) {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1);
  }
  return out;
}
