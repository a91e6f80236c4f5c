import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { copyRecord } from '../core/copy.js';
import {
  type CreateRegistrationOutcome,
  type CreateSessionOutcome,
  type CreateSubscriptionOutcome,
  type MediaSessionRecord,
  type RegistrationLimits,
  type RegistrationRecord,
  type SubscriptionRecord,
  subscriptionEnd,
} from './records.js';
import type { NodeHeartbeat, NumberedSave, SessionConditions, SessionQuery, Store } from './store.js';

const copy = copyRecord;

/** A stored session as a record of its own: a copy of a live one, an ended one parsed from its text. */
const readSession = (stored: MediaSessionRecord | string): MediaSessionRecord =>
  typeof stored === 'string' ? (JSON.parse(stored) as MediaSessionRecord) : copy(stored);

const sameTypes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * The in-process `Store` (single gateway node, tests). Each method runs
 * without awaiting in between, which makes it atomic on Node's event loop.
 */
export class MemoryStore implements Store {
  readonly #registrations = new Map<string, RegistrationRecord>();
  // Registration ids by phone number, and by user for each per-user limit, so the
  // uniqueness and limit checks of a create look at that caller's registrations only.
  // As in the Redis store, a per-user index holds the registrations written while its
  // limit was set (the only ones that limit counts).
  readonly #byPhone = new Map<string, Set<string>>();
  readonly #byUser = new Map<string, Set<string>>();
  readonly #devicesByUser = new Map<string, Set<string>>();
  /** The registration id of each (phoneNumber, deviceId) pair. */
  readonly #byPair = new Map<string, string>();

  static #pairKey(record: { phoneNumber: string; deviceId: string }): string {
    return `${record.phoneNumber}\n${record.deviceId}`;
  }

  #index(record: RegistrationRecord, limits: RegistrationLimits): void {
    this.#byPair.set(MemoryStore.#pairKey(record), record.registrationId);
    const indexes: [Map<string, Set<string>>, string][] = [[this.#byPhone, record.phoneNumber]];
    if (limits.maxPerUser !== undefined) indexes.push([this.#byUser, record.userKey]);
    if (limits.maxDevicesPerUser !== undefined) indexes.push([this.#devicesByUser, record.userKey]);
    for (const [map, key] of indexes) {
      const ids = map.get(key) ?? new Set<string>();
      ids.add(record.registrationId);
      map.set(key, ids);
    }
  }

  #unindex(record: RegistrationRecord): void {
    if (this.#byPair.get(MemoryStore.#pairKey(record)) === record.registrationId) {
      this.#byPair.delete(MemoryStore.#pairKey(record));
    }
    for (const [map, key] of [
      [this.#byPhone, record.phoneNumber],
      [this.#byUser, record.userKey],
      [this.#devicesByUser, record.userKey],
    ] as const) {
      const ids = map.get(key);
      ids?.delete(record.registrationId);
      if (ids?.size === 0) map.delete(key);
    }
  }

  /** The active registrations among `ids`. */
  #activeOf(ids: Set<string> | undefined, now: number): RegistrationRecord[] {
    const out: RegistrationRecord[] = [];
    for (const id of ids ?? []) {
      const record = this.#registrations.get(id)!;
      if (record.expiresAt > now) out.push(record);
    }
    return out;
  }

  #recordsOf(ids: Set<string> | undefined): RegistrationRecord[] {
    return [...(ids ?? [])].map((id) => this.#registrations.get(id)!);
  }
  /**
   * Sessions by id. An ended one is kept as its JSON text for the rest of its retention: one string
   * per call instead of a graph of a few dozen objects that every major collection marks and the
   * young generation copies (at 200 calls/s, 12,000 ended calls are kept through a 60 s retention).
   */
  readonly #sessions = new Map<string, MediaSessionRecord | string>();
  /** Ids of the sessions not ended, by phone number: counted on every createSession. */
  readonly #activeByPhone = new Map<string, Set<string>>();
  readonly #subscriptions = new Map<string, SubscriptionRecord>();
  readonly #sequences = new Map<string, number>();
  /**
   * The version of a number's subscriptions: the count of every number's subscription changes
   * at its last change, kept while it has subscriptions (none, '0', stands for the empty set).
   */
  readonly #subscriptionVersions = new Map<string, number>();
  #subscriptionChanges = 0;

  async createRegistration(
    record: RegistrationRecord,
    limits: RegistrationLimits,
    now: number,
  ): Promise<CreateRegistrationOutcome> {
    // The same (deviceId, phoneNumber): at most one record, active or lapsed.
    const pairId = this.#byPair.get(MemoryStore.#pairKey(record));
    const samePair = pairId === undefined ? undefined : this.#registrations.get(pairId);
    if (samePair && samePair.expiresAt > now) {
      return { ok: false, reason: 'ALREADY_EXISTS', existing: copy(samePair) };
    }
    // The limits look at the caller's active registrations, only when a limit is set.
    if (
      limits.maxPerUser !== undefined &&
      this.#activeOf(this.#byUser.get(record.userKey), now).length >= limits.maxPerUser
    ) {
      return { ok: false, reason: 'MAX_REGISTRATION_PER_USER' };
    }
    if (
      limits.maxPerMsisdn !== undefined &&
      this.#activeOf(this.#byPhone.get(record.phoneNumber), now).length >= limits.maxPerMsisdn
    ) {
      return { ok: false, reason: 'MAX_REGISTRATION_PER_MSISDN' };
    }
    if (limits.maxDevicesPerUser !== undefined) {
      const devices = new Set(
        this.#activeOf(this.#devicesByUser.get(record.userKey), now).map((r) => r.deviceId),
      );
      if (!devices.has(record.deviceId) && devices.size >= limits.maxDevicesPerUser) {
        return { ok: false, reason: 'MAX_DEVICES_PER_USER' };
      }
    }
    // A lapsed record of the same pair whose timer has not fired yet is replaced.
    if (samePair) {
      this.#registrations.delete(samePair.registrationId);
      this.#unindex(samePair);
    }
    this.#registrations.set(record.registrationId, copy(record));
    this.#index(record, limits);
    return { ok: true };
  }

  async getRegistration(registrationId: string): Promise<RegistrationRecord | undefined> {
    const record = this.#registrations.get(registrationId);
    return record && copy(record);
  }

  async findRegistrations(query: { phoneNumber?: string; deviceId?: string }): Promise<RegistrationRecord[]> {
    const candidates =
      query.phoneNumber === undefined
        ? [...this.#registrations.values()]
        : this.#recordsOf(this.#byPhone.get(query.phoneNumber));
    return candidates
      .filter(
        (r) =>
          (query.phoneNumber === undefined || r.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || r.deviceId === query.deviceId),
      )
      .map(copy);
  }

  async refreshRegistration(
    registrationId: string,
    expiresAt: number,
  ): Promise<RegistrationRecord | undefined> {
    const record = this.#registrations.get(registrationId);
    if (record === undefined) return undefined;
    record.expiresAt = expiresAt;
    return copy(record);
  }

  async takeRegistration(
    registrationId: string,
    expected?: RegistrationRecord,
  ): Promise<RegistrationRecord | undefined> {
    const record = this.#registrations.get(registrationId);
    if (expected !== undefined && !isDeepStrictEqual(record, expected)) return undefined;
    this.#registrations.delete(registrationId);
    if (record) this.#unindex(record);
    return record;
  }

  async countActiveRegistrations(now: number): Promise<number> {
    let count = 0;
    for (const r of this.#registrations.values()) if (r.expiresAt > now) count++;
    return count;
  }

  async findLapsedRegistrations(now: number): Promise<string[]> {
    return [...this.#registrations.values()].filter((r) => r.expiresAt <= now).map((r) => r.registrationId);
  }

  async createSession(
    record: MediaSessionRecord,
    conditions: SessionConditions = {},
  ): Promise<CreateSessionOutcome> {
    if (this.#sessions.has(record.mediaSessionId))
      throw new Error(`media session ${record.mediaSessionId} exists`);
    const { maxActivePerNumber: max, registration } = conditions;
    if (max !== undefined && (this.#activeByPhone.get(record.phoneNumber)?.size ?? 0) >= max) {
      return { ok: false, reason: 'MAX_ACTIVE_SESSIONS' };
    }
    if (
      registration !== undefined &&
      !isDeepStrictEqual(this.#registrations.get(registration.registrationId), registration)
    ) {
      return { ok: false, reason: 'REGISTRATION_CHANGED' };
    }
    this.#putSession(record);
    return { ok: true };
  }

  #putSession(record: MediaSessionRecord): void {
    const previous = this.#sessions.get(record.mediaSessionId);
    // An ended session is in no index.
    if (previous !== undefined && typeof previous !== 'string') this.#unindexSession(previous);
    if (record.endedAt !== undefined) {
      this.#sessions.set(record.mediaSessionId, JSON.stringify(record));
      return;
    }
    this.#sessions.set(record.mediaSessionId, copy(record));
    let active = this.#activeByPhone.get(record.phoneNumber);
    if (active === undefined) {
      active = new Set();
      this.#activeByPhone.set(record.phoneNumber, active);
    }
    active.add(record.mediaSessionId);
  }

  #unindexSession(record: MediaSessionRecord): void {
    const active = this.#activeByPhone.get(record.phoneNumber);
    if (active?.delete(record.mediaSessionId) && active.size === 0)
      this.#activeByPhone.delete(record.phoneNumber);
  }

  async getSession(mediaSessionId: string): Promise<MediaSessionRecord | undefined> {
    const stored = this.#sessions.get(mediaSessionId);
    return stored === undefined ? undefined : readSession(stored);
  }

  async saveSession(record: MediaSessionRecord, sequenceKey?: string): Promise<NumberedSave | undefined> {
    this.#putSession(record);
    if (sequenceKey === undefined) return undefined;
    return {
      sequenceNumber: this.#next(sequenceKey),
      subscriptionsVersion: this.#subscriptionsVersion(record.phoneNumber),
    };
  }

  async findSessions(query: SessionQuery): Promise<MediaSessionRecord[]> {
    const found: MediaSessionRecord[] = [];
    for (const stored of this.#sessions.values()) {
      // An ended session's text parsed is already a record of its own; a live one is copied if it matches.
      const s = typeof stored === 'string' ? (JSON.parse(stored) as MediaSessionRecord) : stored;
      if (
        (query.registrationId === undefined || s.registrationIds.includes(query.registrationId)) &&
        (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
        (query.owner === undefined || s.owner === query.owner)
      )
        found.push(s === stored ? copy(s) : s);
    }
    return found;
  }

  async countActiveSessions(phoneNumber: string): Promise<number> {
    return this.#activeByPhone.get(phoneNumber)?.size ?? 0;
  }

  async deleteSession(mediaSessionId: string): Promise<void> {
    const previous = this.#sessions.get(mediaSessionId);
    if (previous === undefined) return;
    if (typeof previous !== 'string') this.#unindexSession(previous);
    this.#sessions.delete(mediaSessionId);
  }

  async createSubscription(
    record: SubscriptionRecord,
    limits: { maxPerOwner?: number },
  ): Promise<CreateSubscriptionOutcome> {
    const owned = [...this.#subscriptions.values()].filter((s) => s.ownerKey === record.ownerKey);
    const same = owned.find(
      (s) => s.deviceId === record.deviceId && s.sink === record.sink && sameTypes(s.types, record.types),
    );
    if (same) return { ok: false, reason: 'ALREADY_EXISTS', existing: copy(same) };
    if (limits.maxPerOwner !== undefined && owned.length >= limits.maxPerOwner)
      return { ok: false, reason: 'QUOTA_EXCEEDED' };
    this.#subscriptions.set(record.id, copy(record));
    this.#subscriptionsChanged(record.phoneNumber);
    return { ok: true };
  }

  #subscriptionsChanged(phoneNumber: string): void {
    let left = false;
    for (const s of this.#subscriptions.values()) {
      if (s.phoneNumber === phoneNumber) {
        left = true;
        break;
      }
    }
    if (left) this.#subscriptionVersions.set(phoneNumber, ++this.#subscriptionChanges);
    else this.#subscriptionVersions.delete(phoneNumber);
  }

  #subscriptionsVersion(phoneNumber: string): string {
    return String(this.#subscriptionVersions.get(phoneNumber) ?? 0);
  }

  async numberSubscriptions(
    phoneNumber: string,
  ): Promise<{ subscriptions: SubscriptionRecord[]; version: string }> {
    return {
      subscriptions: await this.findSubscriptions({ phoneNumber }),
      version: this.#subscriptionsVersion(phoneNumber),
    };
  }

  async getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    const record = this.#subscriptions.get(id);
    return record && copy(record);
  }

  async findSubscriptions(query: {
    ownerKey?: string;
    phoneNumber?: string;
    deviceId?: string;
  }): Promise<SubscriptionRecord[]> {
    return [...this.#subscriptions.values()]
      .filter(
        (s) =>
          (query.ownerKey === undefined || s.ownerKey === query.ownerKey) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || s.deviceId === query.deviceId),
      )
      .map(copy);
  }

  async saveSubscription(record: SubscriptionRecord): Promise<boolean> {
    const previous = this.#subscriptions.get(record.id);
    if (previous === undefined) return false;
    this.#subscriptions.set(record.id, copy(record));
    this.#subscriptionsChanged(previous.phoneNumber);
    if (record.phoneNumber !== previous.phoneNumber) this.#subscriptionsChanged(record.phoneNumber);
    return true;
  }

  async takeSubscription(id: string, expected?: SubscriptionRecord): Promise<SubscriptionRecord | undefined> {
    const record = this.#subscriptions.get(id);
    if (expected !== undefined && !isDeepStrictEqual(record, expected)) return undefined;
    this.#subscriptions.delete(id);
    if (record !== undefined) this.#subscriptionsChanged(record.phoneNumber);
    return record;
  }

  async findDueSubscriptions(now: number): Promise<string[]> {
    return [...this.#subscriptions.values()]
      .filter((s) => {
        const end = subscriptionEnd(s);
        return end !== undefined && end.at <= now;
      })
      .map((s) => s.id);
  }

  async nextSequence(key: string): Promise<number> {
    return this.#next(key);
  }

  #next(key: string): number {
    const next = (this.#sequences.get(key) ?? 0) + 1;
    this.#sequences.set(key, next);
    return next;
  }

  async deleteSequence(key: string): Promise<void> {
    this.#sequences.delete(key);
  }

  readonly #epoch = randomUUID();
  /** Gateway node ids and the end of their lease. */
  readonly #nodes = new Map<string, number>();

  async heartbeat(nodeId: string, leaseEndsAt: number): Promise<NodeHeartbeat> {
    const listed = this.#nodes.has(nodeId);
    this.#nodes.set(nodeId, leaseEndsAt);
    return { epoch: this.#epoch, listed };
  }

  async claimDeadNodes(now: number): Promise<string[]> {
    const dead = [...this.#nodes].filter(([, until]) => until <= now).map(([id]) => id);
    for (const id of dead) this.#nodes.delete(id);
    return dead;
  }

  async leave(nodeId: string): Promise<void> {
    this.#nodes.delete(nodeId);
  }

  /** Counts of what is stored, for tests ("nothing stored"). */
  counts(): { registrations: number; sessions: number; subscriptions: number } {
    return {
      registrations: this.#registrations.size,
      sessions: this.#sessions.size,
      subscriptions: this.#subscriptions.size,
    };
  }

  async close(): Promise<void> {}
}
