import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';

export interface NodeLeaseOptions {
  /** How long a node counts as alive after its last heartbeat (default 15 000 ms). */
  leaseMs: number;
  /** Pause between two heartbeats (default: a third of the lease). */
  heartbeatMs: number;
}

export interface NodeLeaseHooks {
  /** The store lost what this node had written (a new epoch), or listed it no longer: write it again. */
  republish(why: 'store-emptied' | 'lease-lost'): Promise<void>;
  /** Another node's lease ended and this node claimed it: end that node's calls. */
  takeOver(deadNodeId: string): Promise<void>;
}

/**
 * One gateway node's lease in the shared store. Every `heartbeatMs` it
 * extends its lease and reads the store's epoch; it then claims the nodes
 * whose lease ended (each goes to exactly one node) and hands them to
 * `takeOver`. A node claims others only after a full lease of its own
 * heartbeats succeeding: after a store outage every node first gets the
 * chance to renew its lease, so none is taken for dead because the store
 * was. Store failures are logged (once, by the store) and the next beat
 * tries again; nothing here throws.
 */
export class NodeLease {
  readonly nodeId: string;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: NodeLeaseOptions;
  readonly #hooks: NodeLeaseHooks;
  #epoch: string | undefined;
  /** Since when every heartbeat succeeded (`undefined` after a failed one). */
  #healthySince: number | undefined;
  /** Dead nodes this node claimed whose calls it could not all end yet (the store failed): retried. */
  readonly #unfinished = new Set<string>();
  #timer: TimerHandle | undefined;
  #beat: Promise<void> | undefined;
  #closed = false;

  constructor(
    deps: { nodeId: string; store: Store; clock: Clock; logger: Logger },
    options: Partial<NodeLeaseOptions>,
    hooks: NodeLeaseHooks,
  ) {
    this.nodeId = deps.nodeId;
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    const leaseMs = options.leaseMs ?? 15_000;
    this.#options = { leaseMs, heartbeatMs: options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)) };
    this.#hooks = hooks;
  }

  /** Sends the first heartbeat (resolves when done, even if it failed), then one every `heartbeatMs`. */
  async start(): Promise<void> {
    await this.beat();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      void this.beat().then(() => this.#schedule());
    }, this.#options.heartbeatMs);
  }

  /** One heartbeat and look for dead nodes (tests call it to skip the wait). Never rejects. */
  beat(): Promise<void> {
    this.#beat ??= this.#run().finally(() => {
      this.#beat = undefined;
    });
    return this.#beat;
  }

  async #run(): Promise<void> {
    const now = this.#clock.now();
    let heartbeat: Awaited<ReturnType<Store['heartbeat']>>;
    try {
      heartbeat = await this.#store.heartbeat(this.nodeId, now + this.#options.leaseMs);
    } catch (error) {
      this.#healthySince = undefined;
      this.#logger.debug({ err: error, nodeId: this.nodeId }, 'heartbeat failed; next one retries');
      return;
    }
    const known = this.#epoch;
    this.#epoch = heartbeat.epoch;
    this.#healthySince ??= now;
    if (known !== undefined && known !== heartbeat.epoch) {
      this.#logger.warn({ nodeId: this.nodeId }, 'the store lost its data; storing this node’s calls again');
      await this.#republish('store-emptied');
    } else if (known !== undefined && !heartbeat.listed) {
      this.#logger.warn(
        { nodeId: this.nodeId },
        'this node’s lease was taken for ended; storing its calls again',
      );
      await this.#republish('lease-lost');
    }
    if (now - this.#healthySince < this.#options.leaseMs) return;
    let dead: string[];
    try {
      dead = await this.#store.claimDeadNodes(now);
    } catch (error) {
      this.#logger.debug({ err: error }, 'looking for dead nodes failed; next heartbeat retries');
      return;
    }
    for (const nodeId of dead) {
      if (nodeId === this.nodeId) continue;
      this.#logger.warn({ nodeId, by: this.nodeId }, 'a gateway node’s lease ended; ending its calls');
      this.#unfinished.add(nodeId);
    }
    for (const nodeId of [...this.#unfinished]) {
      try {
        await this.#hooks.takeOver(nodeId);
        this.#unfinished.delete(nodeId);
      } catch (error) {
        this.#logger.warn(
          { err: error, nodeId },
          'ending the calls of a dead node failed; retried next heartbeat',
        );
      }
    }
  }

  async #republish(why: 'store-emptied' | 'lease-lost'): Promise<void> {
    try {
      await this.#hooks.republish(why);
    } catch (error) {
      this.#logger.error({ err: error }, 'storing this node’s calls again failed');
    }
  }

  /** Stops the heartbeats and takes the node off the list (its calls have ended). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    await this.#beat;
    await this.#store.leave(this.nodeId).catch((error: unknown) => {
      this.#logger.debug({ err: error }, 'leaving the node list failed; the lease runs out instead');
    });
  }
}
