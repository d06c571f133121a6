import type { BackendTimings, Usage } from './canonical.js';

/**
 * Ollama reports durations in NANOSECONDS and leaves out every metric that is zero
 * (Go `omitempty`); the canonical model uses milliseconds.
 */
export interface OllamaMetrics {
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
}

export function nsToMs(ns: number | undefined): number | undefined {
  return typeof ns === 'number' ? ns / 1e6 : undefined;
}

/** Canonical timings from an Ollama reply's metrics; absent metrics stay absent. */
export function timingsFromOllama(m: OllamaMetrics): BackendTimings {
  return {
    loadMs: nsToMs(m.load_duration),
    promptMs: nsToMs(m.prompt_eval_duration),
    genMs: nsToMs(m.eval_duration),
    totalMs: nsToMs(m.total_duration),
  };
}

/** Ollama metrics (nanoseconds, zero ones left out) from canonical timings and usage. */
export function ollamaMetrics(timings: BackendTimings, usage?: Usage): OllamaMetrics {
  const out: OllamaMetrics = {};
  const put = (key: keyof OllamaMetrics, value: number | undefined) => {
    if (value !== undefined && value > 0) out[key] = Math.round(value);
  };
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1e6);
  put('total_duration', ns(timings.totalMs));
  put('load_duration', ns(timings.loadMs));
  put('prompt_eval_count', usage?.promptTokens);
  put('prompt_eval_duration', ns(timings.promptMs));
  put('eval_count', usage?.completionTokens);
  put('eval_duration', ns(timings.genMs));
  return out;
}
