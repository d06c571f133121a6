/**
 * Sets of models that do not fit together in their memory domain, learned where the
 * scheduler cannot see the capacity: an Ollama daemon that unloaded a model to load another
 * showed that the newcomer does not fit beside everything it held just before. A set is a
 * fact about the whole set: any strict subset may still fit (three models of which any two
 * fit). A set is never learned from one model alone, so a conflict never refuses a model; it
 * only decides who must leave first.
 */
export class Conflicts {
  #sets: ReadonlySet<string>[] = [];

  /**
   * Records that `models` do not fit together. A superset of a known set says nothing new;
   * known supersets of the new set are implied by it and dropped. False when nothing changed.
   */
  learn(models: readonly string[]): boolean {
    const set = new Set(models);
    if (set.size < 2 || this.#sets.some((known) => isSubset(known, set))) return false;
    this.#sets = [...this.#sets.filter((known) => !isSubset(set, known)), set];
    return true;
  }

  /** Forgets every set naming one of `models` (the daemon restarted, a model was deleted). */
  forget(models: readonly string[]): void {
    this.#sets = this.#sets.filter((set) => !models.some((m) => set.has(m)));
  }

  /**
   * Whether `candidate` may hold memory while `holds(name)` says which other models do:
   * every set that names it still misses one of its members.
   */
  allows(candidate: string, holds: (name: string) => boolean): boolean {
    return this.#sets.every((set) => !set.has(candidate) || [...set].some((m) => m !== candidate && !holds(m)));
  }

  /** Models that share a set with `candidate`: they may have to leave for it. */
  partners(candidate: string): ReadonlySet<string> {
    return new Set(this.#sets.filter((set) => set.has(candidate)).flatMap((set) => [...set].filter((m) => m !== candidate)));
  }

  /** The sets, each sorted, for the snapshot. */
  list(): string[][] {
    return this.#sets.map((set) => [...set].sort());
  }
}

function isSubset(small: ReadonlySet<string>, big: ReadonlySet<string>): boolean {
  return [...small].every((m) => big.has(m));
}
