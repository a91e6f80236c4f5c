import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { WebRtcCloudEvent } from './cloud-events.js';
import type { DeliveryTarget } from './event-bus.js';
import type { EventQueue } from './event-queue.js';

/** What a queue entry holds: where the event goes, the event, and whether it is the subscription's last. */
export interface QueuedEvent {
  target: DeliveryTarget;
  event: WebRtcCloudEvent;
  last: boolean;
}

export interface StreamDeliveryOptions {
  /** How long a node holds a subscription's delivery lock without renewing it (default 15 000 ms). */
  lockMs: number;
  /** Pause between two looks for subscriptions with events waiting, e.g. a dead node's (default 1 000 ms). */
  pollMs: number;
  /**
   * How old the count of queued events that `size()` answers may be (default 100 ms). The
   * count comes back with each append and each finished entry, so this node's own work keeps
   * it exact; the other nodes' shows within this time.
   */
  sizeMaxAgeMs: number;
}

/**
 * Delivers the events of shared per-subscription queues (`EventQueue`): for
 * each subscription with events waiting, the node that takes its lock sends
 * them one after the other, oldest first, and removes each once sent (or
 * given up). The lock is renewed while sending; a node that dies leaves it to
 * run out, and the node that takes it next first sends what the dead one had
 * read but not finished. At least once: an event whose sending was cut short
 * is sent again (same id; the receiver drops repeats). Store failures stop
 * the current round; the next look starts it again. Nothing here throws.
 */
export class StreamDelivery {
  readonly #nodeId: string;
  readonly #queue: EventQueue;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: StreamDeliveryOptions;
  readonly #send: (queued: QueuedEvent) => Promise<void>;
  /** Subscriptions this node is sending for now. */
  readonly #draining = new Map<string, Promise<void>>();
  /** Subscriptions kicked while being drained: look again once done. */
  readonly #again = new Set<string>();
  #poll: TimerHandle | undefined;
  #closed = false;
  /** The last count of queued events the store answered, and when. */
  #size = 0;
  #sizeAt = Number.NEGATIVE_INFINITY;

  constructor(
    deps: { nodeId: string; queue: EventQueue; clock: Clock; logger: Logger },
    options: Partial<StreamDeliveryOptions>,
    /** Sends one event and handles its outcome (never rejects for a failed delivery). */
    send: (queued: QueuedEvent) => Promise<void>,
  ) {
    this.#nodeId = deps.nodeId;
    this.#queue = deps.queue;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#options = {
      lockMs: options.lockMs ?? 15_000,
      pollMs: options.pollMs ?? 1000,
      sizeMaxAgeMs: options.sizeMaxAgeMs ?? 100,
    };
    this.#send = send;
  }

  /**
   * Appends an event to its subscription's queue and starts sending; `false`
   * when `max` (> 0) events are queued already (rejects when the store fails).
   */
  async enqueue(queued: QueuedEvent, max = 0): Promise<boolean> {
    const { appended, size } = await this.#queue.append(
      queued.target.subscriptionId,
      JSON.stringify(queued),
      max,
    );
    this.#counted(size);
    if (!appended) return false;
    this.kick(queued.target.subscriptionId);
    return true;
  }

  /**
   * Events queued in the store, every node's: the last count the store answered when it is at
   * most `sizeMaxAgeMs` old, else asked for again (what admitting API work reads on each request).
   */
  async size(): Promise<number> {
    if (this.#clock.now() - this.#sizeAt <= this.#options.sizeMaxAgeMs) return this.#size;
    const size = await this.#queue.size();
    this.#counted(size);
    return size;
  }

  #counted(size: number): void {
    this.#size = size;
    this.#sizeAt = this.#clock.now();
  }

  /** Starts sending a subscription's waiting events, unless this node is at it already. */
  kick(subscriptionId: string): void {
    if (this.#closed) return;
    if (this.#draining.has(subscriptionId)) {
      this.#again.add(subscriptionId);
      return;
    }
    const work = this.#drain(subscriptionId).finally(() => {
      this.#draining.delete(subscriptionId);
      if (this.#again.delete(subscriptionId)) this.kick(subscriptionId);
    });
    this.#draining.set(subscriptionId, work);
  }

  /** Looks for waiting events every `pollMs` (those of dead nodes included) until `close()`. */
  start(): void {
    if (this.#closed || this.#poll !== undefined) return;
    const look = () => {
      this.#poll = this.#clock.setTimeout(async () => {
        try {
          for (const id of await this.#queue.waiting()) this.kick(id);
        } catch (error) {
          this.#logger.debug({ err: error }, 'looking for queued events failed; next look retries');
        }
        if (!this.#closed) look();
      }, this.#options.pollMs);
    };
    look();
  }

  async #drain(subscriptionId: string): Promise<void> {
    const { lockMs } = this.#options;
    try {
      if (!(await this.#queue.lock(subscriptionId, this.#nodeId, lockMs))) return;
    } catch (error) {
      this.#logger.debug({ err: error, subscriptionId }, 'taking a delivery lock failed');
      return;
    }
    let lost = false;
    let renewal: TimerHandle | undefined;
    const renew = () => {
      renewal = this.#clock.setTimeout(
        async () => {
          try {
            lost = !(await this.#queue.lock(subscriptionId, this.#nodeId, lockMs));
          } catch {
            // The store is failing: the lock may run out; the next holder sends what is left.
          }
          if (!lost) renew();
        },
        Math.floor(lockMs / 3),
      );
    };
    renew();
    try {
      while (!lost && !this.#closed) {
        const entries = await this.#queue.next(subscriptionId, this.#nodeId, 20);
        if (entries.length === 0) break;
        for (const { id, entry } of entries) {
          if (lost) break;
          await this.#send(JSON.parse(entry) as QueuedEvent);
          this.#counted(await this.#queue.done(subscriptionId, id));
        }
      }
    } catch (error) {
      this.#logger.debug({ err: error, subscriptionId }, 'sending queued events stopped; next look resumes');
    } finally {
      if (renewal !== undefined) this.#clock.clearTimeout(renewal);
      if (!lost) await this.#queue.unlock(subscriptionId, this.#nodeId).catch(() => {});
    }
  }

  /** Resolves once this node sends nothing more for now. */
  async flush(): Promise<void> {
    while (this.#draining.size > 0) await Promise.allSettled([...this.#draining.values()]);
  }

  /** Stops looking; what is being sent is finished (the rest stays queued for the other nodes). */
  async close(): Promise<void> {
    if (this.#poll !== undefined) this.#clock.clearTimeout(this.#poll);
    await this.flush();
    this.#closed = true;
    if (this.#poll !== undefined) this.#clock.clearTimeout(this.#poll);
  }
}
