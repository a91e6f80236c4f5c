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

/** A stored session as a record: a live one as stored (not to be changed), an ended one parsed from its text. */
const sessionOf = (stored: MediaSessionRecord | string): MediaSessionRecord =>
  typeof stored === 'string' ? (JSON.parse(stored) as MediaSessionRecord) : stored;

/** A stored session as a record of its own: a copy of a live one, an ended one parsed from its text. */
const readSession = (stored: MediaSessionRecord | string): MediaSessionRecord =>
  typeof stored === 'string' ? sessionOf(stored) : copy(stored);

const sameTypes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** Ids by a key (a phone number, a user, ...): the records a query by that key looks at, and only those. */
class IdIndex {
  readonly #ids = new Map<string, Set<string>>();

  add(key: string, id: string): void {
    const ids = this.#ids.get(key);
    if (ids === undefined) this.#ids.set(key, new Set([id]));
    else ids.add(id);
  }

  delete(key: string, id: string): void {
    const ids = this.#ids.get(key);
    if (ids?.delete(id) && ids.size === 0) this.#ids.delete(key);
  }

  get(key: string): ReadonlySet<string> {
    return this.#ids.get(key) ?? NONE;
  }
}
const NONE: ReadonlySet<string> = new Set();

const SUBSCRIPTION_FIELDS = ['ownerKey', 'phoneNumber', 'deviceId'] as const;

/**
 * The ids a query names through its defined fields, from the smallest of their
 * indexes (each record found still has to match every field); `undefined` when
 * the query names none, which lists everything.
 */
function candidates<Q>(query: Q, indexes: { [K in keyof Q]-?: IdIndex }): ReadonlySet<string> | undefined {
  let smallest: ReadonlySet<string> | undefined;
  for (const field of Object.keys(indexes) as (keyof Q)[]) {
    const value = query[field];
    if (value === undefined) continue;
    const ids = indexes[field].get(value as string);
    if (smallest === undefined || ids.size < smallest.size) smallest = ids;
  }
  return smallest;
}

/**
 * The in-process `Store` (single gateway node, tests). Each method runs
 * without awaiting in between, which makes it atomic on Node's event loop.
 * Queries by a field read an index by that field, as the Redis store's do, so
 * what a request costs does not grow with the records of other callers; only
 * listing everything (a node's start, sweeps, the metrics' count) reads them all.
 */
export class MemoryStore implements Store {
  readonly #registrations = new Map<string, RegistrationRecord>();
  // Registration ids by phone number, and by user for each per-user limit, so the
  // uniqueness and limit checks of a create look at that caller's registrations only.
  // As in the Redis store, a per-user index holds the registrations written while its
  // limit was set (the only ones that limit counts).
  readonly #byPhone = new IdIndex();
  readonly #byUser = new IdIndex();
  readonly #devicesByUser = new IdIndex();
  /** Every registration by deviceId (a subscription's check of the device). */
  readonly #byDevice = new IdIndex();
  /** The registration id of each (phoneNumber, deviceId) pair. */
  readonly #byPair = new Map<string, string>();

  static #pairKey(record: { phoneNumber: string; deviceId: string }): string {
    return `${record.phoneNumber}\n${record.deviceId}`;
  }

  #index(record: RegistrationRecord, limits: RegistrationLimits): void {
    const id = record.registrationId;
    this.#byPair.set(MemoryStore.#pairKey(record), id);
    this.#byPhone.add(record.phoneNumber, id);
    this.#byDevice.add(record.deviceId, id);
    if (limits.maxPerUser !== undefined) this.#byUser.add(record.userKey, id);
    if (limits.maxDevicesPerUser !== undefined) this.#devicesByUser.add(record.userKey, id);
  }

  #unindex(record: RegistrationRecord): void {
    if (this.#byPair.get(MemoryStore.#pairKey(record)) === record.registrationId) {
      this.#byPair.delete(MemoryStore.#pairKey(record));
    }
    const id = record.registrationId;
    this.#byPhone.delete(record.phoneNumber, id);
    this.#byDevice.delete(record.deviceId, id);
    this.#byUser.delete(record.userKey, id);
    this.#devicesByUser.delete(record.userKey, id);
  }

  /** The active registrations among `ids`. */
  #activeOf(ids: ReadonlySet<string>, now: number): RegistrationRecord[] {
    const out: RegistrationRecord[] = [];
    for (const id of ids) {
      const record = this.#registrations.get(id)!;
      if (record.expiresAt > now) out.push(record);
    }
    return out;
  }

  /**
   * Sessions by id. An ended one is kept as its JSON text for the rest of its retention: one string
   * per call instead of a graph of a few dozen objects that every major collection marks and the
   * young generation copies (at 200 calls/s, 12,000 ended calls are kept through a 60 s retention).
   */
  readonly #sessions = new Map<string, MediaSessionRecord | string>();
  /** Ids of the sessions not ended, by phone number: counted on every createSession. */
  readonly #activeByPhone = new IdIndex();
  /** Every stored session, ended ones included, by each field `findSessions` takes. */
  readonly #sessionIndexes = {
    registrationId: new IdIndex(),
    phoneNumber: new IdIndex(),
    owner: new IdIndex(),
  } satisfies Record<keyof SessionQuery, IdIndex>;
  readonly #subscriptions = new Map<string, SubscriptionRecord>();
  /** Every subscription by each field `findSubscriptions` takes. */
  readonly #subscriptionIndexes = {
    ownerKey: new IdIndex(),
    phoneNumber: new IdIndex(),
    deviceId: new IdIndex(),
  } satisfies Record<(typeof SUBSCRIPTION_FIELDS)[number], IdIndex>;
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
    const ids = candidates(query, { phoneNumber: this.#byPhone, deviceId: this.#byDevice });
    const records =
      ids === undefined
        ? [...this.#registrations.values()]
        : [...ids].map((id) => this.#registrations.get(id)!);
    return records
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
    if (max !== undefined && this.#activeByPhone.get(record.phoneNumber).size >= max) {
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
    if (previous !== undefined) this.#indexSession('delete', sessionOf(previous));
    this.#sessions.set(
      record.mediaSessionId,
      record.endedAt === undefined ? copy(record) : JSON.stringify(record),
    );
    this.#indexSession('add', record);
  }

  /** Adds a session to its indexes, or takes it out; an ended one is in no index of unfinished ones. */
  #indexSession(op: 'add' | 'delete', record: MediaSessionRecord): void {
    const id = record.mediaSessionId;
    const { registrationId, phoneNumber, owner } = this.#sessionIndexes;
    for (const rid of record.registrationIds) registrationId[op](rid, id);
    phoneNumber[op](record.phoneNumber, id);
    if (record.owner !== undefined) owner[op](record.owner, id);
    if (record.endedAt === undefined) this.#activeByPhone[op](record.phoneNumber, id);
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
    const ids = candidates(query, this.#sessionIndexes);
    const all =
      ids === undefined ? [...this.#sessions.values()] : [...ids].map((id) => this.#sessions.get(id)!);
    for (const stored of all) {
      // An ended session's text parsed is already a record of its own; a live one is copied if it matches.
      const s = sessionOf(stored);
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
    return this.#activeByPhone.get(phoneNumber).size;
  }

  async deleteSession(mediaSessionId: string): Promise<void> {
    const previous = this.#sessions.get(mediaSessionId);
    if (previous === undefined) return;
    this.#indexSession('delete', sessionOf(previous));
    this.#sessions.delete(mediaSessionId);
  }

  async createSubscription(
    record: SubscriptionRecord,
    limits: { maxPerOwner?: number },
  ): Promise<CreateSubscriptionOutcome> {
    const owned = this.#subscriptionsOf(this.#subscriptionIndexes.ownerKey.get(record.ownerKey));
    const same = owned.find(
      (s) => s.deviceId === record.deviceId && s.sink === record.sink && sameTypes(s.types, record.types),
    );
    if (same) return { ok: false, reason: 'ALREADY_EXISTS', existing: copy(same) };
    if (limits.maxPerOwner !== undefined && owned.length >= limits.maxPerOwner)
      return { ok: false, reason: 'QUOTA_EXCEEDED' };
    this.#putSubscription(record);
    return { ok: true };
  }

  #subscriptionsOf(ids: ReadonlySet<string>): SubscriptionRecord[] {
    return [...ids].map((id) => this.#subscriptions.get(id)!);
  }

  /** Stores a subscription new or changed, in its indexes, and moves the versions of the numbers it leaves or joins. */
  #putSubscription(record: SubscriptionRecord): void {
    const previous = this.#takeStoredSubscription(record.id);
    this.#subscriptions.set(record.id, copy(record));
    for (const field of SUBSCRIPTION_FIELDS) this.#subscriptionIndexes[field].add(record[field], record.id);
    if (previous !== undefined && previous.phoneNumber !== record.phoneNumber)
      this.#subscriptionsChanged(previous.phoneNumber);
    this.#subscriptionsChanged(record.phoneNumber);
  }

  /** Removes a subscription and its index entries (the versions are the caller's to move). */
  #takeStoredSubscription(id: string): SubscriptionRecord | undefined {
    const record = this.#subscriptions.get(id);
    if (record === undefined) return undefined;
    this.#subscriptions.delete(id);
    for (const field of SUBSCRIPTION_FIELDS) this.#subscriptionIndexes[field].delete(record[field], id);
    return record;
  }

  #subscriptionsChanged(phoneNumber: string): void {
    if (this.#subscriptionIndexes.phoneNumber.get(phoneNumber).size > 0)
      this.#subscriptionVersions.set(phoneNumber, ++this.#subscriptionChanges);
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
    const ids = candidates(query, this.#subscriptionIndexes);
    return (ids === undefined ? [...this.#subscriptions.values()] : this.#subscriptionsOf(ids))
      .filter(
        (s) =>
          (query.ownerKey === undefined || s.ownerKey === query.ownerKey) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || s.deviceId === query.deviceId),
      )
      .map(copy);
  }

  async saveSubscription(record: SubscriptionRecord): Promise<boolean> {
    if (!this.#subscriptions.has(record.id)) return false;
    this.#putSubscription(record);
    return true;
  }

  async takeSubscription(id: string, expected?: SubscriptionRecord): Promise<SubscriptionRecord | undefined> {
    const record = this.#subscriptions.get(id);
    if (expected !== undefined && !isDeepStrictEqual(record, expected)) return undefined;
    this.#takeStoredSubscription(id);
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
