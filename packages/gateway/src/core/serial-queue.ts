/**
 * Runs async tasks one at a time, in the order they were queued. Each call
 * object (a media session) owns one, so an API request and a SIP event for the
 * same call never interleave. A failing task rejects only its own promise.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.#pending++;
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => this.#pending--,
      () => this.#pending--,
    );
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    while (this.#pending > 0) await this.#tail;
  }

  get pending(): number {
    return this.#pending;
  }
}
