import type { Clock, TimerHandle } from './clock.js';

/**
 * Records that live a fixed time after they are added: what is left of a
 * finished SIP transaction while the RFC 3261 §17 timers D, I, J and L run,
 * an ended dialog, an ended session until its retention is over. Every record
 * lives the same time, so they expire in the order they came: the map's
 * insertion order is the expiry order, and one timer, armed for the oldest
 * record, serves them all, where one timer and its closures per record kept
 * tens of thousands of objects alive at a few hundred calls a second.
 *
 * Records expire at most `resolutionMs` late: one timer turn sweeps every
 * record due within it, so a steady stream of records does not fire a timer
 * for each one.
 */
export class ExpiringRecords<Key, Value> {
  readonly #clock: Clock;
  readonly #lifetimeMs: number;
  readonly #resolutionMs: number;
  readonly #expired: ((key: Key, value: Value) => void) | undefined;
  readonly #records = new Map<Key, { value: Value; expires: number }>();
  #timer: TimerHandle | undefined;

  constructor(options: {
    clock: Clock;
    lifetimeMs: number;
    /** How late a record may expire, to sweep several in one timer turn (default 100 ms). */
    resolutionMs?: number;
    /** Called for each record that expires (not for those deleted or cleared). */
    expired?: (key: Key, value: Value) => void;
  }) {
    this.#clock = options.clock;
    this.#lifetimeMs = options.lifetimeMs;
    this.#resolutionMs = options.resolutionMs ?? 100;
    this.#expired = options.expired;
  }

  /** Adds (or replaces, with a fresh lifetime) the record of `key`. */
  set(key: Key, value: Value): void {
    // Deleting first moves a replaced key to the end, keeping the map in expiry order.
    this.#records.delete(key);
    this.#records.set(key, { value, expires: this.#clock.now() + this.#lifetimeMs });
    if (this.#timer === undefined) this.#arm();
  }

  get(key: Key): Value | undefined {
    return this.#records.get(key)?.value;
  }

  has(key: Key): boolean {
    return this.#records.has(key);
  }

  delete(key: Key): boolean {
    return this.#records.delete(key);
  }

  get size(): number {
    return this.#records.size;
  }

  /** Forgets every record and stops the timer (what `close()` of the owner calls). */
  clear(): void {
    this.#records.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const oldest = this.#records.values().next();
    if (oldest.done) {
      this.#timer = undefined;
      return;
    }
    const wait = Math.max(oldest.value.expires - this.#clock.now(), 0) + this.#resolutionMs;
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), wait);
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, record] of this.#records) {
      if (record.expires > now) break;
      this.#records.delete(key);
      this.#expired?.(key, record.value);
    }
    this.#arm();
  }
}
