/**
 * Work a component starts in the background (no caller awaits it): a failure
 * is reported to `onError`, never thrown, and the component can wait for it
 * when it goes idle or closes.
 */
export class InflightWork {
  readonly #work = new Set<Promise<unknown>>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** How many tracked promises have not settled yet. */
  get size(): number {
    return this.#work.size;
  }

  track(work: Promise<unknown>): void {
    this.#work.add(work);
    work.catch(this.#onError).finally(() => this.#work.delete(work));
  }

  /** Resolves once the work tracked now has settled. */
  async allSettled(): Promise<void> {
    await Promise.allSettled([...this.#work]);
  }

  /** Resolves once nothing is tracked, work started meanwhile included. */
  async drained(): Promise<void> {
    while (this.#work.size > 0) await this.allSettled();
  }
}
