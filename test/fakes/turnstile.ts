/**
 * A barrier a test controls, for what a real upstream cannot show deterministically:
 * the code under test calls `pass()` and waits until the test lets it through, one at a
 * time with `allow(n)` or for good with `open()`. `waiting()` resolves once something is
 * blocked at it, so a test knows the moment has come without sleeping.
 */
export class Turnstile {
  #permits = 0;
  #open = false;
  readonly #blocked: Array<() => void> = [];
  readonly #watchers: Array<() => void> = [];

  /** Resolves when the caller may proceed (consuming one permit unless open). */
  pass(): Promise<void> {
    if (this.#open) return Promise.resolve();
    if (this.#permits > 0) {
      this.#permits--;
      return Promise.resolve();
    }
    const passed = new Promise<void>((resolve) => this.#blocked.push(resolve));
    this.#watchers.splice(0).forEach((notify) => notify());
    return passed;
  }

  /** Lets `n` more callers through (those already waiting first). */
  allow(n = 1): void {
    for (let i = 0; i < n; i++) {
      const next = this.#blocked.shift();
      if (next) next();
      else this.#permits++;
    }
  }

  /** Lets everyone through, now and from now on. */
  open(): void {
    this.#open = true;
    this.#blocked.splice(0).forEach((release) => release());
  }

  /** How many callers are blocked right now. */
  get blocked(): number {
    return this.#blocked.length;
  }

  /** Resolves when at least one caller is blocked (at once if one already is). */
  waiting(): Promise<void> {
    if (this.#blocked.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#watchers.push(resolve));
  }
}
