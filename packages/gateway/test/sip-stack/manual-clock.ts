import type { Clock } from '../../src/core/clock.js';

/** A clock the test moves: timers fire in order as `advance` passes their time. */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #next = 1;

  constructor(start = 0) {
    this.#now = start;
  }

  now = () => this.#now;

  setTimeout = (fn: () => void, ms: number) => {
    const id = this.#next++;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return id;
  };

  clearTimeout = (id: unknown) => {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  };

  /**
   * Moves time on by `ms`, firing due timers in order; after each one, real
   * I/O gets `settleMs` of wall time (0: one turn of the event loop).
   */
  async advance(ms: number, settleMs = 0): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
      await new Promise((resolve) =>
        settleMs === 0 ? setImmediate(resolve) : setTimeout(resolve, settleMs),
      );
    }
    this.#now = end;
  }
}
