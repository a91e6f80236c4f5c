export interface DuplicateWindowOptions {
  /** How long a handled id is remembered (default 3 600 000 ms: longer than a sender's retry schedule). */
  ttlMs?: number;
  /** Most ids remembered; the oldest is forgotten first (default 10 000). */
  maxEntries?: number;
}

type Entry = { expires: number; pending?: Promise<number> };

/**
 * Remembers handled event ids for a while, so a redelivered event (delivery is
 * at least once) is handled once. A `Map` keeps insertion order, which makes
 * it an LRU by age: expired or surplus entries are dropped from the front.
 * While an event is being handled, a duplicate waits for that outcome.
 */
export class DuplicateWindow {
  readonly #entries = new Map<string, Entry>();
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: DuplicateWindowOptions = {}, now: () => number = Date.now) {
    this.#ttl = options.ttlMs ?? 3_600_000;
    this.#max = Math.max(1, options.maxEntries ?? 10_000);
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `handle` unless `key` was handled within the window; the result says
   * whether it ran (`duplicate: false`) and the status the handling produced.
   * A failed handling (`handle` rejects or returns a status >= 300) is
   * forgotten, so a retry runs it again.
   */
  async run(key: string, handle: () => Promise<number>): Promise<{ duplicate: boolean; status: number }> {
    const now = this.#now();
    this.#evict(now);
    const seen = this.#entries.get(key);
    if (seen !== undefined && seen.expires > now) {
      return { duplicate: true, status: seen.pending ? await seen.pending : 204 };
    }
    const pending = handle();
    this.#entries.delete(key);
    this.#entries.set(key, { expires: now + this.#ttl, pending });
    this.#evict(now);
    try {
      const status = await pending;
      this.#entries.delete(key);
      if (status < 300) this.#entries.set(key, { expires: this.#now() + this.#ttl });
      return { duplicate: false, status };
    } catch (error) {
      this.#entries.delete(key);
      throw error;
    }
  }

  #evict(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expires > now && this.#entries.size <= this.#max) break;
      this.#entries.delete(key);
    }
  }
}
