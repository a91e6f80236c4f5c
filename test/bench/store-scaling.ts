/**
 * What each store operation a request makes costs with few and with many
 * records of other callers stored, in the memory store and the Redis store:
 * the cost must not grow with the number of records (indexes, not scans).
 *
 * Memory store: CPU time of this process per operation (the store is in it).
 * Redis store: redis-server's CPU per operation (INFO cpu) and the commands it
 * ran per operation (INFO commandstats, a script's commands included), which a
 * scan would make grow with the records. Each operation runs alone, one at a
 * time, for fresh callers of their own.
 */
import { Redis } from 'ioredis';
import { MemoryStore, RedisStore, type Store } from '../../packages/gateway/src/index.ts';
import { callerRecords } from '../support/store-records.ts';
import { commandsBetween, redisCommandCalls, redisCpuMicros } from './redis-stats.ts';
import { fmtInt, fmtRatio } from './util.ts';

/** Records of each kind (registrations, sessions, subscriptions) stored before measuring, few then many. */
export const FEW = 100;
export const MANY = 20_000;
/**
 * Operations of each kind measured per round, each for a caller of its own: more in the memory
 * store, whose operations take a few µs, so that a collection of the young generation during a
 * batch is a small part of it.
 */
const OPS = { memory: 10_000, redis: 1_000 };
/** Rounds per store and size; the least of them is kept (the least disturbed by other work). */
const ROUNDS = 5;
/** A cost that grows this much for 200 times the records counts as growing (a scan grows about 200 times). */
export const GROWTH_LIMIT = 2;
const LIMITS = { maxPerUser: 5, maxPerMsisdn: 5, maxDevicesPerUser: 5 };
const NOW = Date.now();

const { phone, device, registration, session, ended, subscription } = callerRecords(NOW);

/** The operations a caller's requests make, in the order a caller makes them; each for caller `i`. */
const OPERATIONS: [name: string, run: (store: Store, i: number) => Promise<unknown>][] = [
  [
    'createRegistration (every per-user limit set)',
    (s, i) => s.createRegistration(registration(i), LIMITS, NOW),
  ],
  ['findRegistrations by device', (s, i) => s.findRegistrations({ deviceId: device(i) })],
  [
    'createSubscription (per-owner limit set)',
    (s, i) => s.createSubscription(subscription(i), { maxPerOwner: 5 }),
  ],
  [
    'createSession (per-number limit, registration unchanged)',
    (s, i) => s.createSession(session(i), { maxActivePerNumber: 3, registration: registration(i) }),
  ],
  ['numberSubscriptions', (s, i) => s.numberSubscriptions(phone(i))],
  ['saveSession, ended, numbered', (s, i) => s.saveSession(ended(i), `seq:${i}`)],
  ['findSessions by registration', (s, i) => s.findSessions({ registrationId: `reg-${i}` })],
  ['findSubscriptions by owner', (s, i) => s.findSubscriptions({ ownerKey: `${phone(i)}|client-1` })],
  ['takeSubscription', (s, i) => s.takeSubscription(`sub-${i}`)],
  ['deleteSession', (s, i) => s.deleteSession(`session-${i}`)],
  ['takeRegistration', (s, i) => s.takeRegistration(`reg-${i}`)],
];

/** Stores `count` callers' records (a registration, a session, ended every other one, a subscription each). */
async function fill(store: Store, from: number, count: number): Promise<void> {
  const BATCH = 64;
  for (let start = from; start < from + count; start += BATCH) {
    const callers = Array.from({ length: Math.min(BATCH, from + count - start) }, (_, k) => start + k);
    await Promise.all(
      callers.map(async (i) => {
        await stored(store.createRegistration(registration(i), LIMITS, NOW));
        await store.createSession(i % 2 === 0 ? ended(i) : session(i));
        await stored(store.createSubscription(subscription(i), { maxPerOwner: 5 }));
      }),
    );
  }
}

/** An outcome that must be `{ ok: true }`: the fill stores every record it makes. */
async function stored(outcome: Promise<{ ok: boolean }>): Promise<void> {
  const { ok } = await outcome;
  if (!ok) throw new Error('store scaling: a record of the fill was refused');
}

interface Cost {
  /** µs per operation: this process's CPU (memory store) or redis-server's (Redis store). */
  us: number;
  /** Redis commands per operation (Redis store). */
  commands?: number;
}

/** Each operation's cost in `store` for the callers from `first` on (fresh ones, none of them stored). */
async function costs(store: Store, first: number, redis?: Redis): Promise<Cost[]> {
  const ops = redis === undefined ? OPS.memory : OPS.redis;
  const measured: Cost[] = [];
  for (const [, run] of OPERATIONS) {
    const cpu = process.cpuUsage();
    const redisBefore = redis && (await redisCpuMicros(redis));
    const callsBefore = redis && (await redisCommandCalls(redis));
    for (let i = first; i < first + ops; i++) await run(store, i);
    if (redis === undefined) {
      const used = process.cpuUsage(cpu);
      measured.push({ us: (used.user + used.system) / ops });
    } else {
      const redisUs = (await redisCpuMicros(redis)) - redisBefore!;
      const { commands } = commandsBetween(callsBefore!, await redisCommandCalls(redis));
      measured.push({ us: redisUs / ops, commands: commands / ops });
    }
  }
  return measured;
}

/**
 * Each operation's cost with few and with many records stored, the least of `ROUNDS` rounds; the
 * two stores take turns in each round, so both run as warm and under the same load.
 */
async function fewAndMany(stores: [few: Store, many: Store], redis?: Redis): Promise<[Cost[], Cost[]]> {
  const best: [Cost[], Cost[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [n, store] of stores.entries()) {
      const measured = await costs(store, MANY + 1 + round * OPS.memory, redis);
      for (const [k, cost] of measured.entries()) {
        if (best[n]![k] === undefined || cost.us < best[n]![k]!.us) best[n]![k] = cost;
      }
    }
  }
  return best;
}

export interface StoreScaling {
  columns: string[];
  rows: string[][];
  /** The operations whose cost grew more than `GROWTH_LIMIT` times with the records (none is the goal). */
  grew: string[];
}

/** Measures every operation with `FEW` and `MANY` records stored, in a memory store and in the Redis at `url`. */
export async function storeScaling(url: string): Promise<StoreScaling> {
  const redis = new Redis(url);
  try {
    const memory: [Store, Store] = [new MemoryStore(), new MemoryStore()];
    const redisStores: Store[] = [];
    try {
      for (const size of [FEW, MANY])
        redisStores.push(await RedisStore.connect(url, { keyPrefix: `scaling${size}:` }));
      for (const [n, size] of [FEW, MANY].entries()) {
        await fill(memory[n]!, 0, size);
        await fill(redisStores[n]!, 0, size);
      }
      const [memoryFew, memoryMany] = await fewAndMany(memory);
      const [redisFew, redisMany] = await fewAndMany(redisStores as [Store, Store], redis);
      return report({ memory: memoryFew, redis: redisFew }, { memory: memoryMany, redis: redisMany });
    } finally {
      await Promise.all(redisStores.map((store) => store.close()));
    }
  } finally {
    redis.disconnect();
  }
}

function report(
  few: { memory: Cost[]; redis: Cost[] },
  many: { memory: Cost[]; redis: Cost[] },
): StoreScaling {
  const grew: string[] = [];
  const rows = OPERATIONS.map(([name], k) => {
    const memoryRatio = many.memory[k]!.us / few.memory[k]!.us;
    const redisRatio = many.redis[k]!.us / few.redis[k]!.us;
    const commandsGrew = many.redis[k]!.commands! > few.redis[k]!.commands! + 0.05;
    if (memoryRatio > GROWTH_LIMIT) grew.push(`${name} (memory store)`);
    if (redisRatio > GROWTH_LIMIT || commandsGrew) grew.push(`${name} (Redis store)`);
    const us = (c: Cost) => `${c.us < 10 ? c.us.toFixed(1) : fmtInt(c.us)} µs`;
    return [
      name,
      `${us(few.memory[k]!)} → ${us(many.memory[k]!)}`,
      fmtRatio(memoryRatio),
      `${us(few.redis[k]!)} → ${us(many.redis[k]!)}`,
      fmtRatio(redisRatio),
      `${few.redis[k]!.commands!.toFixed(1)} → ${many.redis[k]!.commands!.toFixed(1)}`,
    ];
  });
  return {
    columns: [
      `store operation (${fmtInt(FEW)} → ${fmtInt(MANY)} callers' records stored)`,
      'memory store: CPU / op',
      'growth',
      'Redis store: Redis CPU / op',
      'growth',
      'Redis commands / op',
    ],
    rows,
    grew,
  };
}

/** How many operations were measured per round, and how many rounds, for the notes. */
export const SCALING_RUN = { ops: OPS, rounds: ROUNDS };
