import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, silentLogger } from '../core/logger.js';
import { StoreUnavailableError } from '../errors.js';
import {
  type CreateRegistrationOutcome,
  type CreateSubscriptionOutcome,
  type MediaSessionRecord,
  type RegistrationLimits,
  type RegistrationRecord,
  type SubscriptionRecord,
  subscriptionEnd,
} from './records.js';
import type { Store } from './store.js';

export interface RedisStoreOptions {
  /**
   * Prefix of every key (default `telegate:`). Gateway nodes share state when
   * they use the same Redis database and the same prefix.
   */
  keyPrefix?: string;
  /** Connection problems after start-up are logged here (default: nowhere). */
  logger?: Logger;
}

/** Longest a store command may take, queued while reconnecting included (default). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;

export interface RedisConnectOptions extends RedisStoreOptions {
  /** How long the first connection may take (default 5000 ms). */
  connectTimeoutMs?: number;
  /**
   * Longest a command may wait for its answer, including the time it waits
   * for a lost connection to come back (default 1000 ms). Past it, the store
   * method rejects with `StoreUnavailableError` (a prompt 503 for a client).
   */
  commandTimeoutMs?: number;
}

/** The first connection to Redis failed; the message names the server (never its password) and why. */
export class RedisConnectError extends Error {
  override name = 'RedisConnectError';
}

export const DEFAULT_KEY_PREFIX = 'telegate:';

/** `redis://user:secret@host` → `redis://user:***@host`, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/*
 * Keys (P = the prefix, `telegate:` by default), all values JSON or sets of ids:
 *
 *   P reg:<registrationId>           a RegistrationRecord
 *   P regidx:phone:<phoneNumber>     ids of registrations of a number
 *   P regidx:user:<userKey>          ids of registrations of a user
 *   P regidx:device:<deviceId>       ids of registrations of a device
 *   P regidx:all                     every registration id (findRegistrations({}), resume)
 *   P regidx:due                     sorted set: registration ids by expiresAt (findLapsedRegistrations)
 *   P sess:<mediaSessionId>          a MediaSessionRecord
 *   P sessidx:reg:<registrationId>   ids of sessions depending on a registration
 *   P sessidx:phone:<phoneNumber>    ids of sessions of a number
 *   P sessidx:all                    every session id
 *   P sub:<id>                       a SubscriptionRecord
 *   P subidx:owner:<ownerKey>        ids of an owner's subscriptions
 *   P subidx:phone:<phoneNumber>     ids of a number's subscriptions (event fan-out)
 *   P subidx:device:<deviceId>       ids of a device's subscriptions
 *   P subidx:all                     every subscription id
 *   P subidx:due                     sorted set: subscription ids by end, those that have one (findDueSubscriptions)
 *   P seq:<key>                      a counter (INCR)
 *
 * Records and index namespaces differ right after the type (`reg:` vs `regidx:`),
 * so no id a client sends can name an index.
 *
 * Atomicity: every write that touches a record and its indexes, and every
 * check-and-insert (registration uniqueness and limits, subscription uniqueness
 * and quota, take = get-and-delete), is one Lua script. Redis runs a script
 * without interleaving any other command, so two gateway nodes racing on the
 * same check serialise in Redis: one sees the other's insert. Lua is preferred
 * to WATCH/MULTI because a hot key (the same deviceId + phone number from many
 * nodes) would make optimistic transactions retry, possibly many times; a
 * script costs one round trip and never retries. Scripts are sent once and run
 * by SHA afterwards (ioredis `defineCommand`).
 *
 * The scripts read records named in index sets, keys that cannot all be
 * declared up front: this needs one Redis (standalone, or behind Sentinel), not
 * Redis Cluster.
 *
 * Scripts decode JSON (cjson) to read fields but store the JSON the client sent
 * unchanged; they never re-encode a record (cjson would turn `[]` into `{}` and
 * round numbers to 14 digits).
 */

const LUA_COMMON = `
local P = ARGV[1]
-- due: the score in the expiry index (a string the client formatted), for SADD.
local function index_registration(op, id, r, due)
  redis.call(op, P .. 'regidx:phone:' .. r.phoneNumber, id)
  redis.call(op, P .. 'regidx:user:' .. r.userKey, id)
  redis.call(op, P .. 'regidx:device:' .. r.deviceId, id)
  redis.call(op, P .. 'regidx:all', id)
  if op == 'SADD' then redis.call('ZADD', P .. 'regidx:due', due, id)
  else redis.call('ZREM', P .. 'regidx:due', id) end
end
local function index_session(op, s)
  local id = s.mediaSessionId
  redis.call(op, P .. 'sessidx:phone:' .. s.phoneNumber, id)
  for _, rid in ipairs(s.registrationIds) do
    redis.call(op, P .. 'sessidx:reg:' .. rid, id)
  end
  redis.call(op, P .. 'sessidx:all', id)
end
-- due: the score in the end index ('' = never ends by itself), for SADD.
local function index_subscription(op, s, due)
  local id = s.id
  redis.call(op, P .. 'subidx:owner:' .. s.ownerKey, id)
  redis.call(op, P .. 'subidx:phone:' .. s.phoneNumber, id)
  redis.call(op, P .. 'subidx:device:' .. s.deviceId, id)
  redis.call(op, P .. 'subidx:all', id)
  if op == 'SADD' and due ~= '' then redis.call('ZADD', P .. 'subidx:due', due, id)
  else redis.call('ZREM', P .. 'subidx:due', id) end
end
`;

/**
 * ARGV: prefix, record JSON, now, maxPerUser, maxPerMsisdn, maxDevicesPerUser ('' = no limit), expiresAt.
 * Returns {'OK'} | {'ALREADY_EXISTS', existing JSON} | {limit reason}. Same rules, in the
 * same order, as `MemoryStore.createRegistration`.
 */
const CREATE_REGISTRATION = `${LUA_COMMON}
local json = ARGV[2]
local rec = cjson.decode(json)
local now = tonumber(ARGV[3])
local max_user = tonumber(ARGV[4])
local max_msisdn = tonumber(ARGV[5])
local max_devices = tonumber(ARGV[6])

-- The caller's registrations: those of the user and those of the number.
local seen, related = {}, {}
for _, index in ipairs({ P .. 'regidx:user:' .. rec.userKey, P .. 'regidx:phone:' .. rec.phoneNumber }) do
  for _, id in ipairs(redis.call('SMEMBERS', index)) do
    if not seen[id] then
      seen[id] = true
      local raw = redis.call('GET', P .. 'reg:' .. id)
      if raw then related[#related + 1] = { id = id, raw = raw, r = cjson.decode(raw) } end
    end
  end
end

local active = {}
for _, e in ipairs(related) do
  if e.r.expiresAt > now then active[#active + 1] = e end
end
for _, e in ipairs(active) do
  if e.r.deviceId == rec.deviceId and e.r.phoneNumber == rec.phoneNumber then
    return { 'ALREADY_EXISTS', e.raw }
  end
end
local of_user, of_number, devices, device_count = 0, 0, {}, 0
for _, e in ipairs(active) do
  if e.r.userKey == rec.userKey then
    of_user = of_user + 1
    if not devices[e.r.deviceId] then
      devices[e.r.deviceId] = true
      device_count = device_count + 1
    end
  end
  if e.r.phoneNumber == rec.phoneNumber then of_number = of_number + 1 end
end
if max_user and of_user >= max_user then return { 'MAX_REGISTRATION_PER_USER' } end
if max_msisdn and of_number >= max_msisdn then return { 'MAX_REGISTRATION_PER_MSISDN' } end
if max_devices and not devices[rec.deviceId] and device_count >= max_devices then
  return { 'MAX_DEVICES_PER_USER' }
end

-- A lapsed record of the same pair whose timer has not fired yet is replaced.
for _, e in ipairs(related) do
  if e.r.deviceId == rec.deviceId and e.r.phoneNumber == rec.phoneNumber then
    redis.call('DEL', P .. 'reg:' .. e.id)
    index_registration('SREM', e.id, e.r)
  end
end
redis.call('SET', P .. 'reg:' .. rec.registrationId, json)
index_registration('SADD', rec.registrationId, rec, ARGV[7])
return { 'OK' }
`;

/**
 * ARGV: prefix, registration id, the JSON it must still have ('' = any).
 * Returns the removed record's JSON, or nil.
 */
const TAKE_REGISTRATION = `${LUA_COMMON}
local key = P .. 'reg:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return false end
if ARGV[3] ~= '' and raw ~= ARGV[3] then return false end
redis.call('DEL', key)
index_registration('SREM', ARGV[2], cjson.decode(raw))
return raw
`;

/**
 * ARGV: prefix, registration id, the record JSON with its new expiry, that expiry.
 * Returns 1, or 0 when the registration no longer exists (it is not recreated).
 */
const REFRESH_REGISTRATION = `${LUA_COMMON}
local key = P .. 'reg:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('SET', key, ARGV[3])
redis.call('ZADD', P .. 'regidx:due', ARGV[4], ARGV[2])
return 1
`;

/** ARGV: prefix, session JSON. Returns 1, or 0 when the id is taken. */
const CREATE_SESSION = `${LUA_COMMON}
local s = cjson.decode(ARGV[2])
local key = P .. 'sess:' .. s.mediaSessionId
if redis.call('EXISTS', key) == 1 then return 0 end
redis.call('SET', key, ARGV[2])
index_session('SADD', s)
return 1
`;

/** ARGV: prefix, session JSON. Stores it (creating it if need be), re-indexed. */
const SAVE_SESSION = `${LUA_COMMON}
local s = cjson.decode(ARGV[2])
local key = P .. 'sess:' .. s.mediaSessionId
local old = redis.call('GET', key)
if old then index_session('SREM', cjson.decode(old)) end
redis.call('SET', key, ARGV[2])
index_session('SADD', s)
return 1
`;

/** ARGV: prefix, session id. */
const DELETE_SESSION = `${LUA_COMMON}
local key = P .. 'sess:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return 0 end
redis.call('DEL', key)
index_session('SREM', cjson.decode(raw))
return 1
`;

/**
 * ARGV: prefix, subscription JSON, maxPerOwner ('' = no limit), its end ('' = none).
 * Returns {'OK'} | {'ALREADY_EXISTS', existing JSON} | {'QUOTA_EXCEEDED'}.
 */
const CREATE_SUBSCRIPTION = `${LUA_COMMON}
local json = ARGV[2]
local rec = cjson.decode(json)
local max_owned = tonumber(ARGV[3])
-- Same event types in any order (a multiset comparison: no locale-dependent sort).
local function same_types(a, b)
  if #a ~= #b then return false end
  local count = {}
  for _, t in ipairs(a) do count[t] = (count[t] or 0) + 1 end
  for _, t in ipairs(b) do
    local c = count[t]
    if not c or c == 0 then return false end
    count[t] = c - 1
  end
  return true
end
local owned = 0
for _, id in ipairs(redis.call('SMEMBERS', P .. 'subidx:owner:' .. rec.ownerKey)) do
  local raw = redis.call('GET', P .. 'sub:' .. id)
  if raw then
    local s = cjson.decode(raw)
    if s.ownerKey == rec.ownerKey then
      owned = owned + 1
      if s.deviceId == rec.deviceId and s.sink == rec.sink and same_types(s.types, rec.types) then
        return { 'ALREADY_EXISTS', raw }
      end
    end
  end
end
if max_owned and owned >= max_owned then return { 'QUOTA_EXCEEDED' } end
redis.call('SET', P .. 'sub:' .. rec.id, json)
index_subscription('SADD', rec, ARGV[4])
return { 'OK' }
`;

/** ARGV: prefix, subscription JSON, its end ('' = none). Returns 1, or 0 when it no longer exists. */
const SAVE_SUBSCRIPTION = `${LUA_COMMON}
local s = cjson.decode(ARGV[2])
local key = P .. 'sub:' .. s.id
local old = redis.call('GET', key)
if not old then return 0 end
index_subscription('SREM', cjson.decode(old))
redis.call('SET', key, ARGV[2])
index_subscription('SADD', s, ARGV[3])
return 1
`;

/**
 * ARGV: prefix, subscription id, the JSON it must still have ('' = any).
 * Returns the removed record's JSON, or nil.
 */
const TAKE_SUBSCRIPTION = `${LUA_COMMON}
local key = P .. 'sub:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return false end
if ARGV[3] ~= '' and raw ~= ARGV[3] then return false end
redis.call('DEL', key)
index_subscription('SREM', cjson.decode(raw))
return raw
`;

/** KEYS[1]: an index set; ARGV[1]: the key prefix of its records. The records, as one snapshot. */
const MEMBERS = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local raw = redis.call('GET', ARGV[1] .. id)
  if raw then out[#out + 1] = raw end
end
return out
`;

const SCRIPTS = {
  telegateCreateRegistration: { numberOfKeys: 0, lua: CREATE_REGISTRATION },
  telegateTakeRegistration: { numberOfKeys: 0, lua: TAKE_REGISTRATION },
  telegateRefreshRegistration: { numberOfKeys: 0, lua: REFRESH_REGISTRATION },
  telegateCreateSession: { numberOfKeys: 0, lua: CREATE_SESSION },
  telegateSaveSession: { numberOfKeys: 0, lua: SAVE_SESSION },
  telegateDeleteSession: { numberOfKeys: 0, lua: DELETE_SESSION },
  telegateCreateSubscription: { numberOfKeys: 0, lua: CREATE_SUBSCRIPTION },
  telegateSaveSubscription: { numberOfKeys: 0, lua: SAVE_SUBSCRIPTION },
  telegateTakeSubscription: { numberOfKeys: 0, lua: TAKE_SUBSCRIPTION },
  telegateMembers: { numberOfKeys: 1, lua: MEMBERS },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptClient = { [K in ScriptName]: (...args: string[]) => Promise<unknown> };

/** A subscription's score in the end index: when it ends by itself ('' = never). */
function endArg(record: SubscriptionRecord): string {
  const end = subscriptionEnd(record);
  return end === undefined ? '' : String(end.at);
}

type RegistrationLimitReason = Exclude<
  Extract<CreateRegistrationOutcome, { ok: false }>['reason'],
  'ALREADY_EXISTS'
>;
const LIMIT_REASONS: ReadonlySet<string> = new Set<RegistrationLimitReason>([
  'MAX_REGISTRATION_PER_USER',
  'MAX_REGISTRATION_PER_MSISDN',
  'MAX_DEVICES_PER_USER',
]);

const limitArg = (value: number | undefined): string => (value === undefined ? '' : String(value));

const byCreation =
  <T>(time: (r: T) => number, id: (r: T) => string) =>
  (a: T, b: T): number =>
    time(a) - time(b) || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);

/**
 * The `Store` of several gateway nodes: records as JSON in one Redis, under
 * `keyPrefix`, with index sets; checks and inserts in Lua scripts (see above).
 * Lists come back oldest first (by creation time, then id).
 *
 * Owns its connection: `close()` quits it.
 */
export class RedisStore implements Store {
  readonly #redis: Redis;
  readonly #scripts: ScriptClient;
  readonly #prefix: string;
  readonly #logger: Logger;
  /** Set from the first failed command until one succeeds again: an outage is logged once. */
  #failing = false;
  #closed: Promise<void> | undefined;

  /**
   * Connects to `url` (`redis://[user:password@]host:port[/db]`, `rediss://` for
   * TLS) and resolves once Redis answers; rejects with `RedisConnectError`
   * (after giving up: no reconnecting in the background) when it cannot.
   * Later disconnections are retried with backoff.
   */
  static async connect(url: string, options: RedisConnectOptions = {}): Promise<RedisStore> {
    const logger = options.logger ?? silentLogger;
    let connected = false;
    let lastError: (Error & { code?: string }) | undefined;
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      // Every command is bounded in time, also one queued while the connection is down
      // (the offline queue stays on: a Sentinel failover or a blip costs a wait, not an error).
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => (connected ? Math.min(attempt * 200, 2000) : null),
    };
    const redis = new Redis(url, redisOptions);
    let reported = false;
    redis.on('error', (error: Error & { code?: string }) => {
      lastError = error;
      if (!connected || reported) return;
      // Once per outage: ioredis reports every failed reconnection.
      reported = true;
      logger.warn({ err: error, redis: redactRedisUrl(url) }, 'Redis connection lost; reconnecting');
    });
    redis.on('ready', () => {
      if (reported) logger.info({ redis: redactRedisUrl(url) }, 'Redis connection restored');
      reported = false;
    });
    let timer: NodeJS.Timeout | undefined;
    const attempt = (async () => {
      await redis.connect();
      await redis.ping();
    })();
    attempt.catch(() => {}); // when the timeout wins, its later failure is expected
    try {
      // connectTimeout bounds the TCP connection; this also bounds a server that accepts and never answers.
      await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      // After a refusal the client has ended already; disconnect() would then arm a
      // 2 s timer (ioredis' disconnectTimeout) that nothing clears, holding the process.
      if (redis.status !== 'end') redis.disconnect();
      const why = lastError?.code ?? lastError?.message ?? (error as Error).message;
      throw new RedisConnectError(`cannot connect to Redis at ${redactRedisUrl(url)} (${why})`);
    } finally {
      clearTimeout(timer);
    }
    connected = true;
    return new RedisStore(redis, options);
  }

  /** Wraps a connected client, which the store then owns. */
  constructor(redis: Redis, options: RedisStoreOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.#logger = options.logger ?? silentLogger;
    for (const [name, script] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, script);
    }
    const client = redis as unknown as ScriptClient;
    this.#scripts = Object.fromEntries(
      Object.keys(SCRIPTS).map((name) => [
        name,
        (...args: string[]) => this.#guard(name, () => client[name as ScriptName](...args)),
      ]),
    ) as ScriptClient;
  }

  get keyPrefix(): string {
    return this.#prefix;
  }

  /**
   * Runs one store operation: a failure of Redis (no connection, timeout,
   * an error reply) becomes `StoreUnavailableError`, logged once per outage.
   */
  async #guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await operation();
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true;
        this.#logger.warn({ err: error, operation: what }, 'Redis store not answering; requests get 503');
      }
      throw new StoreUnavailableError(error);
    }
    if (this.#failing) {
      this.#failing = false;
      this.#logger.info({ operation: what }, 'Redis store answering again');
    }
    return result;
  }

  async #members<T>(index: string, recordPrefix: string): Promise<T[]> {
    const raw = (await this.#scripts.telegateMembers(
      this.#prefix + index,
      this.#prefix + recordPrefix,
    )) as string[];
    return raw.map((json) => JSON.parse(json) as T);
  }

  async #get<T>(key: string): Promise<T | undefined> {
    const raw = await this.#guard('GET', () => this.#redis.get(this.#prefix + key));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  // ---------------------------------------------------------------- registrations

  async createRegistration(
    record: RegistrationRecord,
    limits: RegistrationLimits,
    now: number,
  ): Promise<CreateRegistrationOutcome> {
    const [reason, existing] = (await this.#scripts.telegateCreateRegistration(
      this.#prefix,
      JSON.stringify(record),
      String(now),
      limitArg(limits.maxPerUser),
      limitArg(limits.maxPerMsisdn),
      limitArg(limits.maxDevicesPerUser),
      String(record.expiresAt),
    )) as [string, string?];
    if (reason === 'OK') return { ok: true };
    if (reason === 'ALREADY_EXISTS') {
      return {
        ok: false,
        reason,
        ...(existing === undefined ? {} : { existing: JSON.parse(existing) as RegistrationRecord }),
      };
    }
    if (LIMIT_REASONS.has(reason)) return { ok: false, reason: reason as RegistrationLimitReason };
    throw new Error(`unexpected answer from the Redis registration script: ${reason}`);
  }

  getRegistration(registrationId: string): Promise<RegistrationRecord | undefined> {
    return this.#get<RegistrationRecord>(`reg:${registrationId}`);
  }

  async findRegistrations(query: { phoneNumber?: string; deviceId?: string }): Promise<RegistrationRecord[]> {
    const index =
      query.phoneNumber !== undefined
        ? `regidx:phone:${query.phoneNumber}`
        : query.deviceId !== undefined
          ? `regidx:device:${query.deviceId}`
          : 'regidx:all';
    const records = await this.#members<RegistrationRecord>(index, 'reg:');
    return records
      .filter(
        (r) =>
          (query.phoneNumber === undefined || r.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || r.deviceId === query.deviceId),
      )
      .sort(
        byCreation(
          (r) => r.createdAt,
          (r) => r.registrationId,
        ),
      );
  }

  /**
   * Only `expiresAt` of a registration ever changes, so writing the whole
   * record back (only if it still exists, with its place in the expiry index)
   * loses nothing and never resurrects a registration taken in between.
   */
  async refreshRegistration(
    registrationId: string,
    expiresAt: number,
  ): Promise<RegistrationRecord | undefined> {
    const record = await this.getRegistration(registrationId);
    if (record === undefined) return undefined;
    record.expiresAt = expiresAt;
    const written = await this.#scripts.telegateRefreshRegistration(
      this.#prefix,
      registrationId,
      JSON.stringify(record),
      String(expiresAt),
    );
    return written === 1 ? record : undefined;
  }

  findLapsedRegistrations(now: number): Promise<string[]> {
    return this.#guard('ZRANGEBYSCORE', () =>
      this.#redis.zrangebyscore(`${this.#prefix}regidx:due`, '-inf', now),
    );
  }

  /**
   * `expected` is compared as JSON: a record read from this store serializes
   * back to exactly the stored text (both written by `JSON.stringify`).
   */
  async takeRegistration(
    registrationId: string,
    expected?: RegistrationRecord,
  ): Promise<RegistrationRecord | undefined> {
    const raw = (await this.#scripts.telegateTakeRegistration(
      this.#prefix,
      registrationId,
      expected === undefined ? '' : JSON.stringify(expected),
    )) as string | null;
    return raw === null ? undefined : (JSON.parse(raw) as RegistrationRecord);
  }

  // ---------------------------------------------------------------- media sessions

  async createSession(record: MediaSessionRecord): Promise<void> {
    const created = await this.#scripts.telegateCreateSession(this.#prefix, JSON.stringify(record));
    if (created !== 1) throw new Error(`media session ${record.mediaSessionId} exists`);
  }

  getSession(mediaSessionId: string): Promise<MediaSessionRecord | undefined> {
    return this.#get<MediaSessionRecord>(`sess:${mediaSessionId}`);
  }

  async saveSession(record: MediaSessionRecord): Promise<void> {
    await this.#scripts.telegateSaveSession(this.#prefix, JSON.stringify(record));
  }

  async findSessions(query: {
    registrationId?: string;
    phoneNumber?: string;
  }): Promise<MediaSessionRecord[]> {
    const index =
      query.registrationId !== undefined
        ? `sessidx:reg:${query.registrationId}`
        : query.phoneNumber !== undefined
          ? `sessidx:phone:${query.phoneNumber}`
          : 'sessidx:all';
    const records = await this.#members<MediaSessionRecord>(index, 'sess:');
    return records
      .filter(
        (s) =>
          (query.registrationId === undefined || s.registrationIds.includes(query.registrationId)) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber),
      )
      .sort(
        byCreation(
          (s) => s.createdAt,
          (s) => s.mediaSessionId,
        ),
      );
  }

  async deleteSession(mediaSessionId: string): Promise<void> {
    await this.#scripts.telegateDeleteSession(this.#prefix, mediaSessionId);
  }

  // ---------------------------------------------------------------- subscriptions

  async createSubscription(
    record: SubscriptionRecord,
    limits: { maxPerOwner?: number },
  ): Promise<CreateSubscriptionOutcome> {
    const [reason, existing] = (await this.#scripts.telegateCreateSubscription(
      this.#prefix,
      JSON.stringify(record),
      limitArg(limits.maxPerOwner),
      endArg(record),
    )) as [string, string?];
    if (reason === 'OK') return { ok: true };
    if (reason === 'ALREADY_EXISTS') {
      return {
        ok: false,
        reason,
        ...(existing === undefined ? {} : { existing: JSON.parse(existing) as SubscriptionRecord }),
      };
    }
    if (reason === 'QUOTA_EXCEEDED') return { ok: false, reason };
    throw new Error(`unexpected answer from the Redis subscription script: ${reason}`);
  }

  getSubscription(id: string): Promise<SubscriptionRecord | undefined> {
    return this.#get<SubscriptionRecord>(`sub:${id}`);
  }

  async findSubscriptions(query: {
    ownerKey?: string;
    phoneNumber?: string;
    deviceId?: string;
  }): Promise<SubscriptionRecord[]> {
    const index =
      query.ownerKey !== undefined
        ? `subidx:owner:${query.ownerKey}`
        : query.phoneNumber !== undefined
          ? `subidx:phone:${query.phoneNumber}`
          : query.deviceId !== undefined
            ? `subidx:device:${query.deviceId}`
            : 'subidx:all';
    const records = await this.#members<SubscriptionRecord>(index, 'sub:');
    return records
      .filter(
        (s) =>
          (query.ownerKey === undefined || s.ownerKey === query.ownerKey) &&
          (query.phoneNumber === undefined || s.phoneNumber === query.phoneNumber) &&
          (query.deviceId === undefined || s.deviceId === query.deviceId),
      )
      .sort(
        byCreation(
          (s) => s.startsAt,
          (s) => s.id,
        ),
      );
  }

  async saveSubscription(record: SubscriptionRecord): Promise<boolean> {
    return (
      (await this.#scripts.telegateSaveSubscription(this.#prefix, JSON.stringify(record), endArg(record))) ===
      1
    );
  }

  findDueSubscriptions(now: number): Promise<string[]> {
    return this.#guard('ZRANGEBYSCORE', () =>
      this.#redis.zrangebyscore(`${this.#prefix}subidx:due`, '-inf', now),
    );
  }

  /** `expected` is compared as JSON, as in `takeRegistration`. */
  async takeSubscription(id: string, expected?: SubscriptionRecord): Promise<SubscriptionRecord | undefined> {
    const raw = (await this.#scripts.telegateTakeSubscription(
      this.#prefix,
      id,
      expected === undefined ? '' : JSON.stringify(expected),
    )) as string | null;
    return raw === null ? undefined : (JSON.parse(raw) as SubscriptionRecord);
  }

  // ---------------------------------------------------------------- sequence numbers

  nextSequence(key: string): Promise<number> {
    return this.#guard('INCR', () => this.#redis.incr(`${this.#prefix}seq:${key}`));
  }

  async deleteSequence(key: string): Promise<void> {
    await this.#guard('DEL', () => this.#redis.del(`${this.#prefix}seq:${key}`));
  }

  /** Quits the connection (after the commands already sent are answered). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#redis.status === 'end') return;
      try {
        await this.#redis.quit();
      } catch {
        this.#redis.disconnect();
      }
    })();
    return this.#closed;
  }
}
