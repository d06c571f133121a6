/**
 * Small helpers shared by benches: percentiles of latency samples, rounding for reports,
 * and a load runner bounded in concurrency, count and time.
 */

/**
 * Nearest-rank percentiles (each `p` in 0..100) of `samples`, sorted once; NaN when there
 * are no samples. Nearest-rank returns a value that was really observed, never an interpolation.
 */
export function percentiles(samples: readonly number[], ps: readonly number[]): number[] {
  const sorted = Float64Array.from(samples).sort();
  return ps.map((p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]));
}

/** Rounds for a report (default 3 digits: microseconds when the unit is ms). */
export function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}

export interface BoundedLoad {
  /** Most tasks in flight at once. */
  concurrency: number;
  /** Tasks started at most. */
  count: number;
  /** No task starts after this many ms; those in flight finish. */
  maxMs: number;
}

export interface LoadResult {
  completed: number;
  /** From the first start to the last completion. */
  wallMs: number;
}

/**
 * Runs `task(i)` up to `count` times with at most `concurrency` in flight (closed loop: each
 * of `concurrency` workers starts its next task when its last one ends). The first failure
 * stops new starts; it is rethrown once the tasks in flight have settled, so none is left running.
 */
export async function runBounded(load: BoundedLoad, task: (i: number) => Promise<void>): Promise<LoadResult> {
  const t0 = performance.now();
  const deadline = t0 + load.maxMs;
  let next = 0;
  let completed = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < load.count && performance.now() < deadline) {
      try {
        await task(next++);
        completed++;
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(load.concurrency, load.count) }, worker));
  if (failure) throw failure.err;
  return { completed, wallMs: performance.now() - t0 };
}
