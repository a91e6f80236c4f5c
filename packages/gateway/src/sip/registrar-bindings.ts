import type { Clock, TimerSet } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { SipUri } from './uri.js';

/** What every SIP backend keeps per address-of-record it has registered. */
export interface RegistrarBinding {
  aor: SipUri;
  /** Epoch ms the CAMARA registration ends; refreshes stop there. */
  until: number;
}

export interface RegistrarBindingsOptions<B extends RegistrarBinding> {
  clock: Clock;
  /** The backend's timers; this class owns the keys `reg:<aor>`. */
  timers: TimerSet<string>;
  logger: Logger;
  /** A new binding's state for an address-of-record never registered before. */
  create(aor: SipUri): B;
  /** Sends one REGISTER for `expires` seconds (0 removes); resolves with the seconds granted. */
  send(binding: B, expires: number): Promise<number>;
  /** A refresh failed: the registrar no longer holds the binding. */
  lost(aor: SipUri): void;
}

/**
 * The REGISTER bindings a SIP backend holds at its registrar on behalf of CAMARA
 * registrations: registered while the registration lasts, refreshed at 80% of what
 * the registrar granted, removed with `Expires: 0`, and reported lost when a
 * refresh fails. How one REGISTER goes on the wire is the backend's `send`.
 */
export class RegistrarBindings<B extends RegistrarBinding> {
  readonly #bindings = new Map<SipUri, B>();
  readonly #options: RegistrarBindingsOptions<B>;

  constructor(options: RegistrarBindingsOptions<B>) {
    this.#options = options;
  }

  /**
   * Registers `aor` until `expiresSeconds` from now (0 removes it). Rejects, holding
   * nothing, when the registrar refuses.
   */
  async set(aor: SipUri, expiresSeconds: number): Promise<void> {
    const { clock, timers } = this.#options;
    const existing = this.#bindings.get(aor);
    if (expiresSeconds === 0) {
      timers.delete(`reg:${aor}`);
      if (existing === undefined) return;
      this.#bindings.delete(aor);
      await this.#options.send(existing, 0);
      return;
    }
    const binding = existing ?? this.#options.create(aor);
    binding.until = clock.now() + expiresSeconds * 1000;
    this.#bindings.set(aor, binding);
    try {
      await this.#refresh(binding);
    } catch (error) {
      this.#bindings.delete(aor);
      throw error;
    }
  }

  /** Removes every binding at the registrar, best effort; resolves when all have answered or failed. */
  async removeAll(): Promise<void> {
    const all = [...this.#bindings.values()];
    this.clear();
    await Promise.allSettled(all.map((binding) => this.#options.send(binding, 0)));
  }

  /** Forgets every binding without telling the registrar. */
  clear(): void {
    for (const aor of this.#bindings.keys()) this.#options.timers.delete(`reg:${aor}`);
    this.#bindings.clear();
  }

  async #refresh(binding: B): Promise<void> {
    const { clock, timers, logger } = this.#options;
    const remaining = Math.ceil((binding.until - clock.now()) / 1000);
    if (remaining <= 0) return;
    const granted = await this.#options.send(binding, remaining);
    if (granted <= 0) throw new Error('the registrar removed the binding');
    if (clock.now() + granted * 1000 >= binding.until) return;
    // Refresh before the binding lapses: at 80% of what was granted, while the registration lasts.
    timers.setAfter(`reg:${binding.aor}`, Math.max(1, granted * 0.8) * 1000, () => {
      if (this.#bindings.get(binding.aor) !== binding) return;
      this.#refresh(binding).catch((error: Error) => {
        logger.warn({ aor: binding.aor, err: error.message }, 'REGISTER refresh failed; binding lost');
        this.#bindings.delete(binding.aor);
        this.#options.lost(binding.aor);
      });
    });
  }
}
