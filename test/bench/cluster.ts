/**
 * Several gateway nodes on one Redis (loopback only): `createRegistration`
 * per second and `createSession` + `deleteSession` pairs per second with 1, 2
 * and 3 nodes sharing one redis-server, beside one node on the in-memory store
 * (the peer), with the CPU time each node process and the Redis server spend
 * per operation, so the scaling on more cores can be projected.
 *
 * Each node is a child process (bundled from source, as in the gateway
 * benchmark); autocannon runs in this process, one instance per node, each
 * with its own connections. On a machine with few cores the load generator,
 * the nodes and Redis share them: the CPU per operation, not the rate, is
 * what carries over to a larger machine.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { RedisStore } from '../../packages/gateway/src/index.ts';
import { startRedis } from '../support/redis-server.ts';
import {
  type AutocannonOptions,
  bundleChild,
  load,
  type Measured,
  registrationLoad,
  ServerProcess,
  sessionPairLoad,
} from './gateway.ts';
import { commandsBetween, redisCommandCalls, redisCpuMicros } from './redis-stats.ts';
import { FEW, GROWTH_LIMIT, MANY, SCALING_RUN, storeScaling } from './store-scaling.ts';
import { type BenchResult, fmtInt, fmtRatio, median } from './util.ts';

const DURATION_S = 6;
/** Each scenario is measured this many times; the least disturbed round is kept. */
const ROUNDS = 3;
/**
 * The two single-node scenarios the CPU goal compares are measured this many times: each round's
 * Redis node against the memory store measured just before it, the median of those ratios judged.
 */
const GOAL_ROUNDS = 5;
const WARMUP_S = 1;
/** Seconds of no load measured per scenario, to subtract what nodes and Redis spend idle. */
const IDLE_S = 2;
/** Connections per node. */
const CONNECTIONS = 8;
const CALLERS_PER_NODE = 20;
const REG_PATH = '/webrtc-registration/vwip/sessions';
const SECRET = 'bench-cluster-dev-token-secret-0123456789';
const CLUSTER_SECRET = 'bench-cluster-secret-0123456789abcdefgh';

/** The goals of issue 23: Redis CPU per create, node CPU within 1.2× the memory store's. */
const GOAL_REDIS_US_PER_CREATE = 40;
const GOAL_NODE_CPU_RATIO = 1.2;

interface Scenario {
  label: string;
  nodes: number;
  redis: boolean;
}

interface Outcome {
  perS: number;
  total: number;
  non2xx: number;
  errors: number;
  /** µs of CPU per operation: all node processes together, and the Redis server. */
  nodeUs: number;
  redisUs: number | undefined;
  /** Redis commands per operation (those scripts run included), and how many of them are scripts. */
  redisCommands: number | undefined;
  redisScripts: number | undefined;
  /** µs per operation Redis spent running scripts (their commands included), from INFO commandstats. */
  redisScriptUs: number | undefined;
}

const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

/** Runs one autocannon instance per node at once; sums what they measured. */
async function loadAll(options: AutocannonOptions[], seconds: number): Promise<Measured[]> {
  return Promise.all(options.map((o) => load({ ...o, connections: CONNECTIONS }, seconds)));
}

async function callersOf(server: ServerProcess, node: number) {
  const callers: { phone: string; token: string; registrationId: string }[] = [];
  for (let i = 0; i < CALLERS_PER_NODE; i++) {
    const phone = `+8180001${String(node * 1000 + i).padStart(5, '0')}`;
    const token = await server.token(phone);
    const response = await fetch(`${server.origin}${REG_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: randomUUID() }),
    });
    if (response.status !== 201) throw new Error(`register: ${response.status} ${await response.text()}`);
    const { registrationId } = (await response.json()) as { registrationId: string };
    callers.push({ phone, token, registrationId });
  }
  return callers;
}

async function measure(
  script: string,
  scenario: Scenario,
  redisUrl: string,
  redis: Redis,
  kind: 'registrations' | 'pairs',
  serial: number,
): Promise<Outcome> {
  const config = {
    devTokenSecret: SECRET,
    maxRegistrationsPerUser: 0,
    // One token makes every request: the per-token rate limit would measure itself.
    rateLimitPerToken: 0,
    logLevel: 'error',
    ...(scenario.redis
      ? { store: redisUrl, storeKeyPrefix: `bench${serial}:`, clusterSecret: CLUSTER_SECRET }
      : {}),
  };
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < scenario.nodes; i++)
      servers.push(await ServerProcess.start(script, 'gateway', config));
    const options: AutocannonOptions[] = [];
    if (kind === 'registrations') {
      const token = await servers[0]!.token('+818000000001');
      for (const server of servers) options.push(registrationLoad(server.origin, token));
    } else {
      for (const [i, server] of servers.entries()) {
        options.push(sessionPairLoad(server.origin, await callersOf(server, serial * 10 + i)));
      }
    }
    await loadAll(options, WARMUP_S);
    // What the nodes and Redis spend idle (heartbeats, sweeps, looks for queued events), subtracted below.
    const idleStart = await Promise.all(servers.map((s) => s.stats()));
    const redisIdleStart = scenario.redis ? await redisCpuMicros(redis) : 0;
    await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
    const idleEnd = await Promise.all(servers.map((s) => s.stats()));
    const redisIdleEnd = scenario.redis ? await redisCpuMicros(redis) : 0;
    const nodeIdle = idleEnd.reduce((n, s, i) => n + cpuMicros(s.cpu) - cpuMicros(idleStart[i]!.cpu), 0);
    const scale = DURATION_S / IDLE_S;
    const before = await Promise.all(servers.map((s) => s.stats()));
    const redisBefore = scenario.redis ? await redisCpuMicros(redis) : 0;
    const callsBefore = scenario.redis ? await redisCommandCalls(redis) : undefined;
    const runs = await loadAll(options, DURATION_S);
    const after = await Promise.all(servers.map((s) => s.stats()));
    const redisAfter = scenario.redis ? await redisCpuMicros(redis) : 0;
    const run =
      callsBefore === undefined ? undefined : commandsBetween(callsBefore, await redisCommandCalls(redis));
    const ok = runs.reduce((n, r) => n + (r.statusCodes[kind === 'registrations' ? '201' : '204'] ?? 0), 0);
    const nodeCpu =
      after.reduce((n, s, i) => n + cpuMicros(s.cpu) - cpuMicros(before[i]!.cpu), 0) - nodeIdle * scale;
    return {
      perS: ok / DURATION_S,
      total: ok,
      non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      // A pair is two requests; a registration one.
      nodeUs: nodeCpu / Math.max(1, ok),
      redisUs: scenario.redis
        ? (redisAfter - redisBefore - (redisIdleEnd - redisIdleStart) * scale) / Math.max(1, ok)
        : undefined,
      // Background commands (heartbeats, looks for work) are a few per second: left in.
      redisCommands: run && run.commands / Math.max(1, ok),
      redisScripts: run && run.scripts / Math.max(1, ok),
      redisScriptUs: run && run.scriptUs / Math.max(1, ok),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const FLOOR_PINGS = 20_000;

/**
 * Redis's CPU per round trip that does nothing, one request in flight at a time (as the nodes'
 * creates mostly arrive): PINGs from this process, after a tenth as many to warm up. What a script's
 * own work costs is a create's figure less this.
 */
async function redisRoundTripFloor(client: Redis): Promise<number> {
  for (let i = 0; i < FLOOR_PINGS / 10; i++) await client.ping();
  const before = await redisCpuMicros(client);
  for (let i = 0; i < FLOOR_PINGS; i++) await client.ping();
  return ((await redisCpuMicros(client)) - before) / FLOOR_PINGS;
}

const ALONE_CREATES = 12_000;

/**
 * Redis CPU per registration created by this process alone, after the scenarios (no node, no load
 * generator competing for the cores): `perCall` creates asked for in each turn (so sent as one call
 * of the create script), one call in flight. What a create costs Redis with a core to itself.
 */
async function redisCreateAlone(url: string, client: Redis, perCall: number): Promise<number> {
  const store = await RedisStore.connect(url, { keyPrefix: `alone${perCall}:` });
  try {
    const turn = () =>
      Promise.all(
        Array.from({ length: perCall }, () => {
          const now = Date.now();
          return store.createRegistration(
            {
              registrationId: randomUUID(),
              deviceId: randomUUID(),
              // As in the scenarios: one number (one user), a fresh device each time.
              phoneNumber: '+818000000001',
              userKey: '+818000000001',
              createdAt: now,
              expiresAt: now + 3_600_000,
            },
            {},
            now,
          );
        }),
      );
    for (let i = 0; i < ALONE_CREATES / perCall / 10; i++) await turn();
    const before = await redisCpuMicros(client);
    for (let i = 0; i < ALONE_CREATES / perCall; i++) await turn();
    return ((await redisCpuMicros(client)) - before) / ALONE_CREATES;
  } finally {
    await store.close();
  }
}

export async function clusterBench(): Promise<BenchResult> {
  const { script, cleanup } = await bundleChild();
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url);
  const scenarios: Scenario[] = [
    { label: '1 node, memory store (peer)', nodes: 1, redis: false },
    { label: '1 node, Redis', nodes: 1, redis: true },
    { label: '2 nodes, one Redis', nodes: 2, redis: true },
    { label: '3 nodes, one Redis', nodes: 3, redis: true },
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  try {
    let serial = 0;
    const results: { scenario: Scenario; reg: Outcome; pairs: Outcome; errors: number; non2xx: number }[] =
      [];
    // Every scenario ROUNDS times, in turn; the round with the least node CPU per operation is
    // kept (the least disturbed by other work on a shared machine), rate and Redis figures with it.
    const least = (a: Outcome | undefined, b: Outcome) => (a === undefined || b.nodeUs < a.nodeUs ? b : a);
    const best = scenarios.map(() => ({
      reg: undefined as Outcome | undefined,
      pairs: undefined as Outcome | undefined,
      /** Node CPU per operation of every round, in order. */
      regRounds: [] as number[],
      pairRounds: [] as number[],
      /** Over every round, not only the kept one. */
      errors: 0,
      non2xx: 0,
    }));
    for (let round = 1; round <= GOAL_ROUNDS; round++) {
      for (const [i, scenario] of scenarios.entries()) {
        if (round > ROUNDS && scenario.nodes > 1) continue;
        const reg = await measure(script, scenario, redisServer.url, redis, 'registrations', ++serial);
        const pairs = await measure(script, scenario, redisServer.url, redis, 'pairs', ++serial);
        best[i]!.reg = least(best[i]!.reg, reg);
        best[i]!.pairs = least(best[i]!.pairs, pairs);
        best[i]!.regRounds.push(reg.nodeUs);
        best[i]!.pairRounds.push(pairs.nodeUs);
        best[i]!.errors += reg.errors + pairs.errors;
        best[i]!.non2xx += reg.non2xx + pairs.non2xx;
        console.log(
          `  round ${round}, ${scenario.label}: ${fmtInt(reg.perS)} registrations/s (node ${fmtInt(reg.nodeUs)} µs, Redis ${
            reg.redisUs === undefined ? '–' : fmtInt(reg.redisUs)
          } µs each); ${fmtInt(pairs.perS)} pairs/s (node ${fmtInt(pairs.nodeUs)} µs)`,
        );
      }
    }
    const floorUs = await redisRoundTripFloor(redis);
    const aloneUs = [
      await redisCreateAlone(redisServer.url, redis, 1),
      await redisCreateAlone(redisServer.url, redis, 3),
    ];
    const scaling = await storeScaling(redisServer.url);
    for (const [i, scenario] of scenarios.entries()) {
      const { reg, pairs, errors, non2xx } = best[i]!;
      results.push({ scenario, reg: reg!, pairs: pairs!, errors, non2xx });
    }
    const peer = results[0]!;
    const us = (v: number | undefined) => (v === undefined ? '–' : `${fmtInt(v)} µs`);
    const redisCpu = (o: Outcome) =>
      o.redisUs === undefined ? '–' : `${us(o.redisUs)} (scripts ${us(o.redisScriptUs)})`;
    const commands = (o: Outcome) =>
      o.redisCommands === undefined ? '–' : `${o.redisCommands.toFixed(1)} (${o.redisScripts?.toFixed(1)})`;
    for (const { scenario, reg, pairs, errors, non2xx } of results) {
      rows.push([
        scenario.label,
        fmtInt(reg.perS),
        fmtRatio(reg.perS / peer.reg.perS),
        us(reg.nodeUs),
        fmtRatio(reg.nodeUs / peer.reg.nodeUs),
        redisCpu(reg),
        commands(reg),
        fmtInt(pairs.perS),
        fmtRatio(pairs.perS / peer.pairs.perS),
        us(pairs.nodeUs),
        redisCpu(pairs),
        commands(pairs),
        `${errors} / ${non2xx}`,
      ]);
    }
    const oneRedis = results[1]!;
    const redisRows = results.filter((r) => r.scenario.redis);
    const redisGoal = redisRows.every(
      (r) => r.reg.redisUs !== undefined && r.reg.redisUs <= GOAL_REDIS_US_PER_CREATE,
    )
      ? 'met'
      : 'missed';
    const perCall = (o: Outcome) =>
      o.redisScripts === undefined || o.redisScripts === 0 ? '–' : (1 / o.redisScripts).toFixed(1);
    // Each round's Redis node against the memory store just before it: both under the machine's load of that moment.
    const roundRatios = (redisRounds: number[], memoryRounds: number[]) =>
      redisRounds.map((us, round) => us / memoryRounds[round]!);
    const regRatios = roundRatios(best[1]!.regRounds, best[0]!.regRounds);
    const pairRatios = roundRatios(best[1]!.pairRounds, best[0]!.pairRounds);
    const cpuRatio = median(regRatios);
    const pairCpuRatio = median(pairRatios);
    const ratioList = (ratios: number[]) => ratios.map(fmtRatio).join(', ');
    notes.push(
      `Machine load average (1 min) ${loadBefore.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end, ` +
        `on ${cpus().length} cores. Above the core count other work shares the CPU: the rates then say more about that than about ` +
        `the gateway, and the CPU per operation grows too (each process is woken for fewer requests at a time, with colder caches; ` +
        `on this 2-core machine at load 9–16 the memory store's node CPU per registration measured from 143 to 976 µs from one run to the next).`,
      `Goals: Redis CPU ≤ ${GOAL_REDIS_US_PER_CREATE} µs per create: ${redisGoal} (${redisRows
        .map((r) => us(r.reg.redisUs))
        .join(', ')} with ${redisRows.map((r) => r.scenario.nodes).join(', ')} nodes); ` +
        `node CPU per registration within ${GOAL_NODE_CPU_RATIO}× the memory store's: ${
          cpuRatio <= GOAL_NODE_CPU_RATIO ? 'met' : 'missed'
        } (median ${fmtRatio(cpuRatio)} of ${ratioList(regRatios)}); node CPU per create+delete pair within ${GOAL_NODE_CPU_RATIO}× the memory store's: ${
          pairCpuRatio <= GOAL_NODE_CPU_RATIO ? 'met' : 'missed'
        } (median ${fmtRatio(pairCpuRatio)} of ${ratioList(pairRatios)}). ` +
        `Those ratios are one per round, the node on Redis against the memory store measured just before it, ` +
        `so both ran under the machine's load of that moment; the table's rows, the least disturbed round of each, give ` +
        `${fmtRatio(oneRedis.reg.nodeUs / peer.reg.nodeUs)} and ${fmtRatio(oneRedis.pairs.nodeUs / peer.pairs.nodeUs)}.`,
      `Redis's floor on this machine: a PING, one in flight at a time (sent from this process after the scenarios), costs ` +
        `redis-server ${us(floorUs)} of CPU, the system calls that read a request and write its answer; with one node a ` +
        `registration costs it ${us(oneRedis.reg.redisUs === undefined ? undefined : oneRedis.reg.redisUs - floorUs)} more. ` +
        `Of a registration's Redis CPU, the script itself ran ${us(oneRedis.reg.redisScriptUs)} (in parentheses: the time ` +
        `INFO commandstats gives the scripts, the commands they run included); the rest is reading requests, writing answers ` +
        `and waking up for them, which creates that reach Redis together share. ` +
        `With a core to itself (creates sent from this process alone after the scenarios, no node or load generator running) ` +
        `a registration cost Redis ${us(aloneUs[0])} one per call and ${us(aloneUs[1])} three per call (one call in flight): ` +
        `the round trip, not the script, is most of a lone create's cost, and creates that share a call share it.`,
      `Redis commands per operation: INFO commandstats calls over the measured run, divided by the successful operations; ` +
        `the commands a script runs count too, the scripts (EVALSHA, in parentheses) are the round trips that carry them. ` +
        `A registration is six commands of one script (${commands(oneRedis.reg)} with one node): the pair's field in the device's hash read ` +
        `(then the pair key earlier versions wrote, which is not there), the record and that field written, and its place in ` +
        `two indexes by expiry (number, all); the per-user indexes (user, user's ` +
        `device, user's devices) are written only while their limit is set, and the per-user limit is off here. ` +
        `The registrations a node is asked for in one turn of its event loop share one call of that script (group commit, ` +
        `at most 32 a call): ${redisRows.map((r) => perCall(r.reg)).join(', ')} registrations a call on average with ` +
        `${redisRows.map((r) => r.scenario.nodes).join(', ')} nodes, so Redis reads, wakes and answers once for them. ` +
        `Heartbeats and looks for queued events add a few commands per second per node, left in.`,
      `Each registration has a fresh deviceId of one user (one token), the per-user limit off, so the user's registrations ` +
        `grow through the run: a create's cost does not depend on them. Goal no store cost growing with the records: ${
          scaling.grew.length === 0 ? 'met' : `missed (${scaling.grew.join(', ')})`
        }, every operation of a request measured with ${fmtInt(FEW)} and ${fmtInt(MANY)} records of other callers stored (below).`,
      `Pairs: each node's autocannon creates and deletes its own calls (${CALLERS_PER_NODE} callers per node, a loopback number that answers); ` +
        `no subscription, so no event is sent. A DELETE sent to another node than the call's would add one signed pub/sub round trip. ` +
        `A pair is two session writes: the create (with it the number's limit of unfinished calls, and the caller's registration as ` +
        `the node last read it, confirmed unchanged) and the ended record written with the sequenceNumber of its event and the version ` +
        `of the number's subscriptions, which lets matching reuse the subscriptions it last read while that version stays. The session ` +
        `writes a node is asked for in one turn of its event loop share one call of a script, as registrations do (group commit): ` +
        `${redisRows.map((r) => (r.pairs.redisScripts === undefined || r.pairs.redisScripts === 0 ? '–' : (2 / r.pairs.redisScripts).toFixed(1))).join(', ')} ` +
        `writes a call on average with ${redisRows.map((r) => r.scenario.nodes).join(', ')} nodes, so a pair is ` +
        `${oneRedis.pairs.redisScripts?.toFixed(1) ?? '–'} round trips to Redis with one node. The registration and ` +
        `the subscriptions are thus read once per node while unchanged, not once per call; admitting a request reads the count ` +
        `of queued events from the store's last answers (at most 100 ms old), not once per request. ` +
        `The node CPU a pair costs beyond the memory store's is mostly those round trips: on loopback each write to Redis's socket ` +
        `runs the kernel's receive path and wakes Redis in the writer's system call, and each answer wakes the node again.`,
      `Each scenario ran ${ROUNDS} times, in turn, the two single-node ones ${GOAL_ROUNDS} times; each row is the round with ` +
        `the least node CPU per operation (registrations and pairs chosen separately), the least disturbed by other work on the machine.`,
      `CPU per operation: user+system time of all node processes (process.cpuUsage) and of redis-server (INFO cpu) over the measured ` +
        `${DURATION_S} s, less what they spent idle (measured for ${IDLE_S} s without load just before, scaled), ` +
        `divided by the successful operations; a pair counts as one operation.`,
      `autocannon: ${CONNECTIONS} connections per node, pipelining 1, ${WARMUP_S} s warm-up, in this process. On 2 cores the load ` +
        `generator, the nodes and Redis compete for the CPU, so the rates do not grow with the nodes; the CPU per operation projects ` +
        `the rate of a machine with more cores (one core per node: about 1e6 / node µs operations/s each, Redis bounding the total at 1e6 / Redis µs).`,
    );
    return {
      id: 'cluster',
      title: 'Several gateway nodes on one Redis',
      description:
        `Registrations/s and \`createSession\` + \`deleteSession\` pairs/s with 1, 2 and 3 gateway processes on one redis-server ` +
        `(127.0.0.1, no persistence), beside one process on the in-memory store, ${DURATION_S} s per scenario; ` +
        `with the node and Redis CPU time per operation.`,
      columns: [
        'scenario',
        'registrations/s',
        'vs peer',
        'node CPU / reg',
        'vs peer',
        'Redis CPU / reg',
        'Redis commands / reg (scripts)',
        'pairs/s',
        'vs peer',
        'node CPU / pair',
        'Redis CPU / pair',
        'Redis commands / pair (scripts)',
        'errors / non-2xx (all rounds)',
      ],
      rows,
      notes,
      more: [
        {
          caption:
            `Each store operation a request makes, with ${fmtInt(FEW)} and then ${fmtInt(MANY)} callers' records stored ` +
            `(a registration, a session, ended for every other caller, and a subscription each), in a memory store in this ` +
            `process and in a Redis store on the same redis-server, after the scenarios.`,
          columns: scaling.columns,
          rows: scaling.rows,
          notes: [
            `Goal: no operation's cost grows with the records stored: ${
              scaling.grew.length === 0 ? 'met' : `missed (${scaling.grew.join(', ')})`
            }. A cost counts as growing when it is over ${GROWTH_LIMIT}× with ${fmtInt(MANY / FEW)} times the records ` +
              `(a scan of the records would grow about as much as they do), or when Redis runs more commands for it.`,
            `Each operation runs ${fmtInt(SCALING_RUN.ops.memory)} times in a row in the memory store (${fmtInt(SCALING_RUN.ops.redis)} in Redis), ` +
              `one at a time, each time for a caller of its own ` +
              `(none of whose records is among those stored), in the order a caller's requests make them; ` +
              `${SCALING_RUN.rounds} rounds, the least per operation kept. Memory store: this process's CPU per operation. ` +
              `Redis store: redis-server's CPU per operation (INFO cpu), round trip included, and the commands it ran ` +
              `(INFO commandstats, a script's own commands included). Some growth of CPU is the caches: a larger table's ` +
              `entries are further apart in memory.`,
          ],
        },
      ],
    };
  } finally {
    await redis.quit();
    await redisServer.stop();
    await cleanup();
  }
}
