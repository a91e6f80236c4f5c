import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

export interface DeferredWritesOptions {
  /** Pause between two attempts at the writes still waiting (default 2 000 ms). */
  retryMs: number;
  /** A write still failing this long after its first attempt is given up (default 1 h). */
  giveUpMs: number;
}

interface Pending {
  write: () => Promise<unknown>;
  since: number;
}

/**
 * Store writes of a node's own objects (its live calls) that must not wait
 * for the store: each is tried at once and, when the store fails, kept and
 * tried again in the background until it succeeds or is given up. Per key
 * only the latest write is kept, and a key with a write waiting gets no
 * other write ahead of it, so the store never goes back to an older state.
 * Nothing here rejects: a store outage never ends a call or the process.
 */
export class DeferredWrites {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: DeferredWritesOptions;
  readonly #pending = new Map<string, Pending>();
  #timer: TimerHandle | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(deps: { clock: Clock; logger: Logger }, options: Partial<DeferredWritesOptions> = {}) {
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#options = { retryMs: options.retryMs ?? 2000, giveUpMs: options.giveUpMs ?? 3_600_000 };
  }

  /** Writes waiting for the store. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Runs `write` for `key` now, or, when one for the key is waiting, puts it
   * in that one's place. Resolves `true` when written now, `false` when kept
   * for later; never rejects.
   */
  async run(key: string, write: () => Promise<unknown>): Promise<boolean> {
    const waiting = this.#pending.get(key);
    if (waiting !== undefined) {
      waiting.write = write;
      return false;
    }
    try {
      await write();
      return true;
    } catch (error) {
      this.#keep(key, write, error);
      return false;
    }
  }

  #keep(key: string, write: () => Promise<unknown>, error: unknown): void {
    if (this.#closed) {
      this.#logger.warn({ err: error, key }, 'store write failed while closing; not retried');
      return;
    }
    if (this.#pending.size === 0) {
      this.#logger.warn(
        { err: error, key, retryMs: this.#options.retryMs },
        'store write failed; kept and retried in the background',
      );
    }
    this.#pending.set(key, { write, since: this.#clock.now() });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#options.retryMs);
  }

  /** Tries every waiting write once (in the order they were first kept). Never rejects. */
  flush(): Promise<void> {
    this.#flushing ??= (async () => {
      try {
        for (const [key, entry] of [...this.#pending]) {
          const write = entry.write;
          try {
            await write();
            // A newer write may have replaced this one meanwhile: it still waits.
            if (this.#pending.get(key)?.write === write) this.#pending.delete(key);
          } catch (error) {
            if (this.#clock.now() - entry.since >= this.#options.giveUpMs) {
              this.#pending.delete(key);
              this.#logger.error({ err: error, key }, 'store write given up after retrying');
            }
          }
        }
        if (this.#pending.size === 0) this.#logger.info({}, 'deferred store writes done');
        else this.#schedule();
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }

  /** Tries the waiting writes a last time, then stops retrying. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size > 0) await this.flush();
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#pending.size > 0) {
      this.#logger.warn({ writes: this.#pending.size }, 'store writes still failing at close; dropped');
      this.#pending.clear();
    }
  }
}
