import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

/** Publish/subscribe between gateway nodes (Redis pub/sub in production). */
export interface ClusterMessaging {
  publish(channel: string, message: string): Promise<void>;
  /** Calls `listener` with every message on `channel` until `close()`. */
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** What one node asks of the node that handles a call. */
export type NodeRequest =
  | { op: 'delete-session'; phoneNumber: string; mediaSessionId: string }
  | { op: 'update-session'; phoneNumber: string; mediaSessionId: string; body: unknown }
  | { op: 'registration-ended'; registrationId: string; reason: string };

/** The owner's answer: a result, or the CAMARA error it raised. */
export type NodeReply =
  | { ok: true; result?: unknown }
  | { ok: false; error: { status: number; code: string; message: string } };

export interface NodeChannelOptions {
  /** The shared secret every node signs its messages with (HMAC-SHA256). */
  secret: string;
  /** Prefix of the channels (the store's key prefix). */
  prefix: string;
  /** How long a request waits for its reply (default 3 000 ms). */
  timeoutMs?: number;
}

/** The request's wait ran out: the owner is unreachable (or dead, and not yet taken over). */
export class NodeUnreachableError extends Error {
  override name = 'NodeUnreachableError';
}

interface Envelope {
  kind: 'request' | 'reply';
  id: string;
  from: string;
  to: string;
  at: number;
  request?: NodeRequest;
  reply?: NodeReply;
}

/** Messages older than this (or this far in the future) are dropped: no replay of a captured one. */
const MAX_AGE_MS = 30_000;

/**
 * The authenticated channel between gateway nodes: a node sends a request to
 * another by id and waits for its reply. Every message is signed with HMAC-SHA256
 * over its text with the cluster secret, carries its sender, addressee, time and
 * a random id; a message with a wrong signature, for another node, too old, or
 * repeated is dropped (logged once per kind). Replies match requests by id.
 */
export class NodeChannel {
  readonly #nodeId: string;
  readonly #messaging: ClusterMessaging;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #key: Buffer;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #waiting = new Map<string, (reply: NodeReply) => void>();
  /** Ids of the messages taken in the last MAX_AGE_MS, against replays. */
  readonly #seen = new Map<string, number>();
  readonly #dropped = new Set<string>();
  #handler: ((request: NodeRequest, from: string) => Promise<NodeReply>) | undefined;

  constructor(
    deps: { nodeId: string; messaging: ClusterMessaging; clock: Clock; logger: Logger },
    options: NodeChannelOptions,
  ) {
    this.#nodeId = deps.nodeId;
    this.#messaging = deps.messaging;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#key = Buffer.from(options.secret, 'utf8');
    this.#prefix = options.prefix;
    this.#timeoutMs = options.timeoutMs ?? 3000;
  }

  #channel(nodeId: string): string {
    return `${this.#prefix}node:${nodeId}`;
  }

  /** Starts taking requests for this node (answered by `handler`) and replies to its own. */
  async listen(handler: (request: NodeRequest, from: string) => Promise<NodeReply>): Promise<void> {
    this.#handler = handler;
    await this.#messaging.subscribe(this.#channel(this.#nodeId), (message) => {
      this.#receive(message).catch((error: unknown) => {
        this.#logger.error({ err: error }, 'a message from another node could not be handled');
      });
    });
  }

  #sign(text: string): string {
    return createHmac('sha256', this.#key).update(text).digest('hex');
  }

  async #send(envelope: Envelope): Promise<void> {
    const text = JSON.stringify(envelope);
    await this.#messaging.publish(
      this.#channel(envelope.to),
      JSON.stringify({ m: text, s: this.#sign(text) }),
    );
  }

  /** Logs (once per kind) why a message was dropped; `undefined`, for `#open` to return. */
  #drop(why: string): undefined {
    if (this.#dropped.has(why)) return undefined;
    this.#dropped.add(why);
    this.#logger.warn({ why }, 'a message between gateway nodes was dropped');
    return undefined;
  }

  /** The envelope of an authentic, fresh, first-seen message for this node; `undefined` otherwise. */
  #open(message: string): Envelope | undefined {
    let outer: { m?: unknown; s?: unknown };
    try {
      outer = JSON.parse(message) as { m?: unknown; s?: unknown };
    } catch {
      return this.#drop('not JSON');
    }
    if (typeof outer.m !== 'string' || typeof outer.s !== 'string') return this.#drop('malformed');
    const expected = Buffer.from(this.#sign(outer.m), 'hex');
    const given = Buffer.from(outer.s, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return this.#drop('bad signature (is CLUSTER_SECRET the same on every node?)');
    }
    const envelope = JSON.parse(outer.m) as Envelope | null;
    if (typeof envelope !== 'object' || envelope === null) return this.#drop('malformed');
    const now = this.#clock.now();
    if (envelope.to !== this.#nodeId) return this.#drop('addressed to another node');
    if (Math.abs(now - envelope.at) > MAX_AGE_MS) return this.#drop('too old');
    for (const [id, at] of this.#seen) {
      if (now - at <= MAX_AGE_MS) break;
      this.#seen.delete(id);
    }
    if (this.#seen.has(envelope.id)) return this.#drop('repeated');
    this.#seen.set(envelope.id, now);
    return envelope;
  }

  async #receive(message: string): Promise<void> {
    const envelope = this.#open(message);
    if (envelope === undefined) return;
    if (envelope.kind === 'reply') {
      const resolve = this.#waiting.get(envelope.id);
      if (resolve !== undefined && envelope.reply !== undefined) resolve(envelope.reply);
      return;
    }
    if (envelope.request === undefined || this.#handler === undefined) return;
    let reply: NodeReply;
    try {
      reply = await this.#handler(envelope.request, envelope.from);
    } catch (error) {
      this.#logger.error({ err: error, op: envelope.request.op }, 'a request from another node failed');
      reply = { ok: false, error: { status: 500, code: 'INTERNAL', message: 'Unknown server error.' } };
    }
    try {
      await this.#send({
        kind: 'reply',
        id: `${envelope.id}`,
        from: this.#nodeId,
        to: envelope.from,
        at: this.#clock.now(),
        reply,
      });
    } catch (error) {
      this.#logger.warn({ err: error }, 'replying to another node failed');
    }
  }

  /**
   * Sends `request` to node `to` and resolves with its reply; rejects with
   * `NodeUnreachableError` when none comes within the timeout (or the message
   * cannot be sent).
   */
  async request(to: string, request: NodeRequest): Promise<NodeReply> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<NodeReply>((resolve, reject) => {
      this.#waiting.set(id, resolve);
      timer = setTimeout(
        () => reject(new NodeUnreachableError(`node ${to} did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    answered.catch(() => {}); // it may time out while the request is still being sent
    try {
      await this.#send({ kind: 'request', id, from: this.#nodeId, to, at: this.#clock.now(), request });
      return await answered;
    } catch (error) {
      if (error instanceof NodeUnreachableError) throw error;
      throw new NodeUnreachableError(`node ${to} cannot be reached (${(error as Error).message})`);
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(id);
    }
  }

  async close(): Promise<void> {
    this.#handler = undefined;
    await this.#messaging.close();
  }
}
