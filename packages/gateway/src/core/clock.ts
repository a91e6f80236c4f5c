/** Opaque handle of a scheduled callback. */
export type TimerHandle = unknown;

/**
 * Time source and timers. Everything time-based in the gateway goes through
 * one `Clock`, so tests drive expiry and call timers with fake timers.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. It looks the globals up on every call (not at import), so
 * `vi.useFakeTimers()` installed after import still takes effect.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = globalThis.setTimeout(callback, Math.max(0, Math.min(ms, 2_147_483_647)));
    // A pending expiry must not keep a process alive on its own.
    (timer as { unref?: () => void }).unref?.();
    return timer as unknown as TimerHandle;
  },
  clearTimeout: (handle) => globalThis.clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};

/** Longest single wait; `setTimeout` overflows beyond 2^31-1 ms. */
const MAX_STEP = 2_000_000_000;

/**
 * Named timers owned by one object: setting a key again replaces its timer,
 * `clear()` cancels all of them (what `close()` of the owner calls).
 * Delays beyond the 24.8-day limit of `setTimeout` are re-armed in steps.
 */
export class TimerSet<Key = string> {
  readonly #clock: Clock;
  readonly #timers = new Map<Key, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Runs `callback` at epoch time `at` (at once if that has passed). */
  setAt(key: Key, at: number, callback: () => void): void {
    this.delete(key);
    const arm = (): void => {
      const step = Math.min(Math.max(0, at - this.#clock.now()), MAX_STEP);
      const handle = this.#clock.setTimeout(() => {
        if (this.#timers.get(key) !== handle) return;
        if (step === MAX_STEP && at > this.#clock.now()) {
          arm();
          return;
        }
        this.#timers.delete(key);
        callback();
      }, step);
      this.#timers.set(key, handle);
    };
    arm();
  }

  /** Runs `callback` after `ms` milliseconds. */
  setAfter(key: Key, ms: number, callback: () => void): void {
    this.setAt(key, this.#clock.now() + ms, callback);
  }

  has(key: Key): boolean {
    return this.#timers.has(key);
  }

  delete(key: Key): void {
    const handle = this.#timers.get(key);
    if (handle === undefined) return;
    this.#clock.clearTimeout(handle);
    this.#timers.delete(key);
  }

  clear(): void {
    for (const handle of this.#timers.values()) this.#clock.clearTimeout(handle);
    this.#timers.clear();
  }

  get size(): number {
    return this.#timers.size;
  }
}
