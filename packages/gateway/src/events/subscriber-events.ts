import type { DomainEvent } from './domain-events.js';

/** The domain events a subscriber's own devices may watch (what a browser's events bridge streams). */
export type SubscriberEvent = Extract<
  DomainEvent,
  { type: 'session-invitation' | 'session-status' | 'registration-ends' }
>;

export type SubscriberEventListener = (event: SubscriberEvent) => void;

/** The subscriber number a domain event concerns, when a subscriber may watch it. */
function subscriberOf(event: DomainEvent): string | undefined {
  switch (event.type) {
    case 'session-invitation':
    case 'session-status':
      return event.session.phoneNumber;
    case 'registration-ends':
      return event.registration.phoneNumber;
    case 'subscription-ended':
      return undefined;
  }
}

/**
 * Listeners of one subscriber number's session and registration events,
 * outside the CAMARA subscriptions (no sink, no sequence store): the
 * gateway feeds it every published domain event. Listeners run
 * synchronously; one that throws does not stop the others.
 */
export class SubscriberEventTap {
  readonly #listeners = new Map<string, Set<SubscriberEventListener>>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Calls `listener` with every event of `phoneNumber` until the returned function is called. */
  watch(phoneNumber: string, listener: SubscriberEventListener): () => void {
    let set = this.#listeners.get(phoneNumber);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(phoneNumber, set);
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(phoneNumber);
      current?.delete(listener);
      if (current?.size === 0) this.#listeners.delete(phoneNumber);
    };
  }

  /** Whether any listener watches `phoneNumber` (an incoming call then has someone to ring). */
  isWatched(phoneNumber: string): boolean {
    return this.#listeners.has(phoneNumber);
  }

  /** Number of listeners of `phoneNumber`. */
  watchers(phoneNumber: string): number {
    return this.#listeners.get(phoneNumber)?.size ?? 0;
  }

  dispatch(event: DomainEvent): void {
    const phoneNumber = subscriberOf(event);
    if (phoneNumber === undefined) return;
    const set = this.#listeners.get(phoneNumber);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(event as SubscriberEvent);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
