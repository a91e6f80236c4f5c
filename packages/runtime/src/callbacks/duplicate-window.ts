import { LRUCache } from 'lru-cache';

export interface DuplicateWindowOptions {
  /** How long a handled id is remembered (default 3 600 000 ms: longer than a sender's retry schedule). */
  ttlMs?: number;
  /** Most ids remembered; the least recently handled is forgotten first (default 10 000). */
  maxEntries?: number;
}

/** A handled id (`{}`), or one being handled (`pending`: the status its handling will produce). */
type Entry = { pending?: Promise<number> };

/**
 * Remembers handled event ids for a while, so a redelivered event (delivery is
 * at least once) is handled once: an `lru-cache` bounded by count and age.
 * While an event is being handled, a duplicate waits for that outcome.
 */
export class DuplicateWindow {
  readonly #entries: LRUCache<string, Entry>;

  constructor(options: DuplicateWindowOptions = {}, now: () => number = Date.now) {
    this.#entries = new LRUCache<string, Entry>({
      max: Math.max(1, options.maxEntries ?? 10_000),
      ttl: options.ttlMs ?? 3_600_000,
      // Read the clock on every check (no cached time), from the clock given; shifted by 1 ms
      // because lru-cache reads a start time of 0 as "no time recorded" (only differences count).
      ttlResolution: 0,
      perf: { now: () => now() + 1 },
    });
  }

  get size(): number {
    this.#entries.purgeStale();
    return this.#entries.size;
  }

  /**
   * Runs `handle` unless `key` was handled within the window; the result says
   * whether it ran (`duplicate: false`) and the status the handling produced.
   * A failed handling (`handle` rejects or returns a status >= 300) is
   * forgotten, so a retry runs it again.
   */
  async run(key: string, handle: () => Promise<number>): Promise<{ duplicate: boolean; status: number }> {
    const seen = this.#entries.get(key);
    if (seen !== undefined) return { duplicate: true, status: seen.pending ? await seen.pending : 204 };
    const pending = handle();
    this.#entries.set(key, { pending });
    try {
      const status = await pending;
      // The window counts from the end of a successful handling.
      if (status < 300) this.#entries.set(key, {});
      else this.#entries.delete(key);
      return { duplicate: false, status };
    } catch (error) {
      this.#entries.delete(key);
      throw error;
    }
  }
}
