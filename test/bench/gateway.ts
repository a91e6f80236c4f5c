/**
 * The reference gateway over HTTP under load (autocannon, loopback only):
 *
 * (a) `createRegistration` throughput and latency against `buildGateway()`
 *     on its embedded defaults (only the per-user registration limit raised,
 *     since every request uses one token), each request with a fresh
 *     `deviceId`; against (peer) a hand-written minimal Fastify route doing
 *     the same in-memory insert with no validation, no auth, no correlator
 *     checks, measured the same way in the same run;
 * (b) `createSession` + `deleteSession` pairs (a registration and a
 *     `session-status` subscription per caller first; calls to a loopback
 *     number that answers), and the `session-status` events/s the gateway
 *     delivers meanwhile to a local HTTPS receiver built with the generated
 *     `createEventsCallbackReceiver`.
 *
 * The server under test runs in a child process (bundled from source with
 * esbuild), autocannon and the webhook receiver in this one: on 2 cores each
 * side gets one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { createTestPki, type TestPki } from '../conformance/support/pki.ts';
import {
  type BenchResult,
  fmtInt,
  fmtRatio,
  GATEWAY_NODE_FLAGS,
  repoRoot,
  sinkSubscription,
} from './util.ts';

/** Goals (issue 7): on the embedded defaults. */
const GOAL_REGISTRATIONS_PER_S = 3_000;
const GOAL_P99_MS = 20;

const DURATION_S = 10;
const WARMUP_S = 2;
const CONNECTIONS = 10;
/** Callers of (b): each connection picks the next one per pair (the gateway allows 10 unfinished calls per number). */
const CALLERS = 40;
/** After (b), how long to wait for the event backlog to drain. */
const DRAIN_TIMEOUT_MS = 10_000;

const REG_PATH = '/webrtc-registration/vwip/sessions';
const CALL_PATH = '/webrtc-call-handling/vwip/sessions';
const SUB_PATH = '/webrtc-events/vwip/subscriptions';
const ANSWERING_NUMBER = '+818000000002';
const SINK_TOKEN = 'bench-sink-token';
const SESSION_STATUS = 'org.camaraproject.webrtc-events.v0.session-status';
const OFFER =
  'v=0\r\no=- 8066321617929821805 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS local-stream\r\nm=audio 42988 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 203.0.113.50\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:1645903805 1 udp 2122262783 203.0.113.50 42988 typ host generation 0\r\na=ice-ufrag:4eKp\r\na=ice-pwd:D4sF5Pv9vx9ggaqxBlHbAFMx\r\na=ice-options:trickle\r\na=fingerprint:sha-256 CF:56:D8:57:9B:68:B2:1C:F6:ED:6C:C0:02:7C:96:C2:88:A3:C2:38:AD:A2:CA:F5:0D:47:BB:81:74:7B:75:17\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n';

// ------------------------------------------------------------------ the child process (server under test)

const CHILD_SOURCE = `
import { randomUUID } from 'node:crypto';
import { fastify } from 'fastify';
import { buildGateway } from '${join(repoRoot, 'packages/gateway/src/index.ts')}';

const mode = process.argv[2];
const config = JSON.parse(process.env.TELEGATE_BENCH_CONFIG ?? '{}');
let issue = async () => { throw new Error('no tokens in peer mode'); };
let stats = () => ({});
let close;

if (mode === 'gateway') {
  const server = await buildGateway({ ...config, port: 0, host: '127.0.0.1' });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  issue = (phone) => server.issueToken(phone);
  stats = () => {
    const counts = server.gateway.store.counts?.();
    return counts ?? {};
  };
  close = () => server.close();
  process.send({ kind: 'ready', port: server.app.server.address().port });
} else {
  // The peer: the same route, an in-memory insert, nothing else (no schema, no auth, no correlator checks).
  const app = fastify({ logger: false });
  const registrations = new Map();
  app.post('${REG_PATH}', async (request, reply) => {
    const registrationId = randomUUID();
    const response = {
      registrationId,
      regInfo: { phoneNumber: '+818000000001', regStatus: 'Registered' },
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    registrations.set(registrationId, { ...response, deviceId: request.body?.deviceId });
    reply.code(201);
    return response;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  stats = () => ({ registrations: registrations.size });
  close = () => app.close();
  process.send({ kind: 'ready', port: app.server.address().port });
}

process.on('message', async (message) => {
  if (message.kind === 'token') process.send({ kind: 'token', token: await issue(message.phone) });
  else if (message.kind === 'stats') process.send({ kind: 'stats', stats: stats(), cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
  else if (message.kind === 'close') {
    await close();
    process.exit(0);
  }
});
`;

/** Resolves `@telegate/*` to the packages' TypeScript sources, so the child runs what the repo holds now. */
function telegateFromSource(): Plugin {
  const sources: Record<string, string> = {
    '@telegate/webrtc-server': 'packages/webrtc-server/src/index.ts',
    '@telegate/webrtc-server/fastify': 'packages/webrtc-server/src/fastify.ts',
    '@telegate/webrtc-api': 'packages/webrtc-api/src/index.ts',
    '@telegate/webrtc-client': 'packages/webrtc-client/src/index.ts',
    '@telegate/runtime': 'packages/runtime/src/index.ts',
  };
  return {
    name: 'telegate-from-source',
    setup(b) {
      b.onResolve({ filter: /^@telegate\// }, (args) => {
        const runtimeSub = /^@telegate\/runtime\/(.+)$/.exec(args.path);
        if (runtimeSub) return { path: join(repoRoot, 'packages/runtime/src', runtimeSub[1]!, 'index.ts') };
        const generated = /^@telegate\/webrtc-api\/(.+)\.gen\.js$/.exec(args.path);
        if (generated)
          return { path: join(repoRoot, 'packages/webrtc-api/src/gen', `${generated[1]}.gen.ts`) };
        const file = sources[args.path];
        return file ? { path: join(repoRoot, file) } : undefined;
      });
    },
  };
}

/**
 * Bundles a server process's script from the repo's sources: the gateway/peer child above, or the module
 * at `entryFile` (a path from the repo's root).
 */
export async function bundleChild(entryFile?: string): Promise<{ script: string; cleanup(): Promise<void> }> {
  const base = join(repoRoot, '.tmp');
  mkdirSync(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'bench-gateway-'));
  const entry = entryFile === undefined ? join(dir, 'child.ts') : join(repoRoot, entryFile);
  if (entryFile === undefined) await writeFile(entry, CHILD_SOURCE);
  const script = join(dir, 'child.mjs');
  const bundled: BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [telegateFromSource()],
    logLevel: 'error',
  };
  await build({ ...bundled, entryPoints: [entry], outfile: script });
  // The threads the gateway starts (webhook delivery, werift media) load their entry from beside the
  // module that starts them, which in the bundle is the child: bundled there under the names it asks for.
  await build({
    ...bundled,
    entryPoints: {
      'transport-thread': join(repoRoot, 'packages/runtime/src/callbacks/transport-thread.ts'),
      'media-thread': join(repoRoot, 'packages/gateway/src/media/werift/media-thread.ts'),
    },
    outdir: dir,
  });
  return { script, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export class ServerProcess {
  private waiters: ((message: Record<string, unknown>) => void)[] = [];
  port = 0;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message) => this.waiters.shift()?.(message as Record<string, unknown>));
  }

  static async start(script: string, mode: 'gateway' | 'peer', config: Record<string, unknown> = {}) {
    const profileDir = process.env.TELEGATE_BENCH_CPU_PROF;
    const child = fork(script, [mode], {
      cwd: repoRoot,
      // TELEGATE_BENCH_CPU_PROF=<dir>: write a V8 CPU profile of each server process there.
      // The gateway's Node flags (as `npm start` runs it) for the peer too: both on equal terms.
      execArgv: [
        ...GATEWAY_NODE_FLAGS,
        ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'development', TELEGATE_BENCH_CONFIG: JSON.stringify(config) },
    });
    const server = new ServerProcess(child);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${mode} server exited (${code})`))),
    );
    exited.catch(() => {});
    const ready = await Promise.race([server.next(), exited]);
    server.port = ready.port as number;
    return server;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async token(phone: string): Promise<string> {
    this.child.send({ kind: 'token', phone });
    return (await this.next()).token as string;
  }

  async stats(): Promise<{ stats: Record<string, number>; cpu: NodeJS.CpuUsage; rss: number }> {
    this.child.send({ kind: 'stats' });
    return (await this.next()) as never;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ kind: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ load

export interface Measured {
  requestsPerS: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  /** Completed responses in each second of the measured run. */
  perSecond: number[];
  statusCodes: Record<string, number>;
}

/** The part of autocannon's programmatic API used here (it ships no type declarations). */
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (
    request: AutocannonRequest,
    context: Record<string, unknown>,
  ) => AutocannonRequest | undefined;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}
export interface AutocannonOptions {
  url: string;
  connections?: number;
  pipelining?: number;
  duration?: number;
  requests: AutocannonRequest[];
}
interface Histogram {
  average: number;
  total: number;
  p50: number;
  p99: number;
}
interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}
type AutocannonInstance = PromiseLike<AutocannonResult> & {
  on(event: 'tick', listener: (tick: { counter: number }) => void): void;
};
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: AutocannonOptions,
) => AutocannonInstance;

export async function load(options: AutocannonOptions, seconds: number): Promise<Measured> {
  const perSecond: number[] = [];
  const instance = autocannon({ connections: CONNECTIONS, pipelining: 1, ...options, duration: seconds });
  instance.on('tick', ({ counter }: { counter: number }) => perSecond.push(counter));
  const result = await instance;
  // autocannon ticks once more as it stops; keep one count per measured second.
  perSecond.length = Math.min(perSecond.length, seconds);
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
  );
  return {
    requestsPerS: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    perSecond,
    statusCodes,
  };
}

export const registrationLoad = (origin: string, token: string | undefined): AutocannonOptions => ({
  url: origin,
  requests: [
    {
      method: 'POST',
      path: REG_PATH,
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ deviceId: randomUUID() }) }),
    },
  ],
});

/** Registers a device per caller and subscribes it to session-status at the receiver. */
export async function onboardCallers(server: ServerProcess, sink: string) {
  const callers: { phone: string; token: string; registrationId: string }[] = [];
  for (let i = 0; i < CALLERS; i++) {
    const phone = `+8180000${String(10_000 + i).padStart(5, '0')}`;
    const token = await server.token(phone);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const deviceId = randomUUID();
    const registered = await fetch(`${server.origin}${REG_PATH}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ deviceId }),
    });
    if (registered.status !== 201)
      throw new Error(`register: ${registered.status} ${await registered.text()}`);
    const { registrationId } = (await registered.json()) as { registrationId: string };
    const subscribed = await fetch(`${server.origin}${SUB_PATH}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(sinkSubscription(sink, SINK_TOKEN, [SESSION_STATUS], deviceId)),
    });
    if (subscribed.status !== 201)
      throw new Error(`subscribe: ${subscribed.status} ${await subscribed.text()}`);
    callers.push({ phone, token, registrationId });
  }
  return callers;
}

export function sessionPairLoad(
  origin: string,
  callers: { phone: string; token: string; registrationId: string }[],
): AutocannonOptions {
  let next = 0;
  const body = (phone: string) =>
    JSON.stringify({
      originatorAddress: `tel:${phone}`,
      receiverAddress: `tel:${ANSWERING_NUMBER}`,
      offer: { sdp: OFFER },
    });
  return {
    url: origin,
    requests: [
      {
        method: 'POST',
        path: CALL_PATH,
        setupRequest: (request, context) => {
          const caller = callers[next++ % callers.length]!;
          context.caller = caller;
          return {
            ...request,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${caller.token}`,
              registrationid: caller.registrationId,
            },
            body: body(caller.phone),
          };
        },
        onResponse: (status, responseBody, context) => {
          context.mediaSessionId =
            status === 201
              ? (JSON.parse(responseBody) as { mediaSessionId: string }).mediaSessionId
              : undefined;
        },
      },
      {
        method: 'DELETE',
        setupRequest: (request, context) => {
          const id = context.mediaSessionId as string | undefined;
          // No session to delete: start the next pair.
          if (id === undefined) return undefined;
          const caller = context.caller as { token: string };
          const { body: _, ...rest } = request;
          return {
            ...rest,
            path: `${CALL_PATH}/${id}`,
            headers: { authorization: `Bearer ${caller.token}` },
          };
        },
      },
    ],
  };
}

// ------------------------------------------------------------------ the webhook receiver

export async function startReceiver(pki: TestPki) {
  const { createEventsCallbackReceiver } = await import('../../packages/webrtc-client/src/index.ts');
  const times: number[] = [];
  const count = () => {
    times.push(performance.now());
  };
  const receiver = createEventsCallbackReceiver(
    {
      onSessionStatus: count,
      onSessionInvitation: count,
      onRegistrationEnds: count,
      onSubscriptionEnded: count,
    },
    { auth: { bearer: SINK_TOKEN } },
  );
  const server = createServer({ key: pki.key, cert: pki.cert }, receiver.node);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    sink: `https://127.0.0.1:${port}/webhooks`,
    times,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ------------------------------------------------------------------ the benchmark

/** autocannon measures latency in whole milliseconds. */
const ms = (v: number) => (v < 1 ? '< 1 ms' : `${v.toFixed(v >= 100 ? 0 : 1)} ms`);
const codes = (m: Measured) =>
  Object.entries(m.statusCodes)
    .map(([code, n]) => `${code}×${fmtInt(n)}`)
    .join(', ');

export async function gatewayBench(): Promise<BenchResult> {
  const { script, cleanup } = await bundleChild();
  const pki = await createTestPki();
  const notes: string[] = [];
  try {
    // (peer) the minimal Fastify route.
    const peer = await ServerProcess.start(script, 'peer');
    let peerRun: Measured;
    try {
      await load(registrationLoad(peer.origin, undefined), WARMUP_S);
      peerRun = await load(registrationLoad(peer.origin, undefined), DURATION_S);
    } finally {
      await peer.stop();
    }
    console.log(`  peer: ${fmtInt(peerRun.requestsPerS)} req/s, p99 ${ms(peerRun.p99)}`);

    // (a) createRegistration on the embedded defaults.
    // One token makes every request: the per-token rate limit would measure itself.
    const gateway = await ServerProcess.start(script, 'gateway', {
      maxRegistrationsPerUser: 0,
      rateLimitPerToken: 0,
    });
    let regRun: Measured;
    let regStats: Awaited<ReturnType<ServerProcess['stats']>>;
    try {
      const token = await gateway.token('+818000000001');
      await load(registrationLoad(gateway.origin, token), WARMUP_S);
      regRun = await load(registrationLoad(gateway.origin, token), DURATION_S);
      regStats = await gateway.stats();
    } finally {
      await gateway.stop();
    }
    console.log(`  gateway createRegistration: ${fmtInt(regRun.requestsPerS)} req/s, p99 ${ms(regRun.p99)}`);

    // (b) createSession + deleteSession pairs, events to the receiver.
    const receiver = await startReceiver(pki);
    const callGateway = await ServerProcess.start(script, 'gateway', {
      maxRegistrationsPerUser: 0,
      rateLimitPerToken: 0,
      sinkAllowlist: ['127.0.0.1'],
      sinkCaFile: pki.caFile,
    });
    let pairRun: Measured;
    let eventsDuring = 0;
    let eventsAfterDrain = 0;
    let drainMs = 0;
    try {
      const callers = await onboardCallers(callGateway, receiver.sink);
      await load(sessionPairLoad(callGateway.origin, callers), WARMUP_S);
      // Let the warm-up's events arrive before counting.
      await new Promise((r) => setTimeout(r, 500));
      const before = receiver.times.length;
      const started = performance.now();
      pairRun = await load(sessionPairLoad(callGateway.origin, callers), DURATION_S);
      const ended = performance.now();
      eventsDuring = receiver.times.filter((t) => t >= started && t <= ended).length;
      const expected = before + pairRun.statusCodes['204']!;
      const drainStart = performance.now();
      while (receiver.times.length < expected && performance.now() - drainStart < DRAIN_TIMEOUT_MS) {
        await new Promise((r) => setTimeout(r, 50));
      }
      drainMs = performance.now() - drainStart;
      eventsAfterDrain = receiver.times.length - before;
      const late = eventsAfterDrain - eventsDuring;
      notes.push(
        `(b): ${fmtInt(pairRun.statusCodes['204'] ?? 0)} pairs completed in ${DURATION_S} s (${codes(pairRun)}); ` +
          `${fmtInt(eventsAfterDrain)} session-status events delivered for them, ` +
          (late > 0
            ? `${fmtInt(late)} of them within ${ms(drainMs)} after the load stopped.`
            : 'all while the load ran.'),
      );
    } finally {
      await callGateway.stop();
      await receiver.close();
    }
    console.log(
      `  gateway create+delete pairs: ${fmtInt(pairRun.requestsPerS / 2)} pairs/s, ${fmtInt(eventsDuring / DURATION_S)} events/s`,
    );

    const ratio = regRun.requestsPerS / peerRun.requestsPerS;
    const first = regRun.perSecond[0] ?? 0;
    const last = regRun.perSecond.at(-1) ?? 0;
    notes.push(
      `(a): ${fmtInt(regRun.total)} registrations in ${DURATION_S} s after a ${WARMUP_S} s warm-up (${codes(regRun)}); ` +
        `per second: ${regRun.perSecond.map(fmtInt).join(', ')} (first ${fmtInt(first)}, last ${fmtInt(last)}): ` +
        `every one is kept (one token, one user), so the store holds ${fmtInt(regStats.stats.registrations ?? 0)} at the end` +
        ` (child RSS ${fmtInt(regStats.rss / 1024 / 1024)} MiB).`,
      `Embedded defaults: dev auth (HS256 tokens), memory store, loopback network, request validation and ` +
        `response validation on (\`validateResponses\` defaults to true unless NODE_ENV=production), ` +
        `\`maxRegistrationsPerUser\` raised to 1,000,000 (default 20).`,
      `autocannon ${CONNECTIONS} connections, pipelining 1, in this process; the server in a child process ` +
        `(bundled from source by esbuild, with the threads it starts beside it), run with the gateway's Node flags (\`${GATEWAY_NODE_FLAGS.join(' ')}\`, as \`npm start\` runs it), and so is the peer; ` +
        `the HTTPS webhook receiver of (b) (generated receiver, payload validation on) in this process too.`,
      `Peer: a Fastify route \`POST ${REG_PATH}\` that inserts \`{ registrationId, deviceId, ... }\` into a Map and answers 201, ` +
        `with no schema, no auth, no x-correlator handling; same load, same machine, same run.`,
    );
    const goalText =
      regRun.requestsPerS >= GOAL_REGISTRATIONS_PER_S && regRun.p99 < GOAL_P99_MS
        ? `met (≥ ${fmtInt(GOAL_REGISTRATIONS_PER_S)}/s, p99 < ${GOAL_P99_MS} ms)`
        : `missed (goal ≥ ${fmtInt(GOAL_REGISTRATIONS_PER_S)}/s and p99 < ${GOAL_P99_MS} ms)`;
    return {
      id: 'gateway',
      title: 'Gateway HTTP throughput',
      description:
        `\`buildGateway()\` on 127.0.0.1 under autocannon (${DURATION_S} s per scenario): (a) \`createRegistration\` with a fresh \`deviceId\` per request, ` +
        `against a hand-written minimal Fastify route doing the same in-memory insert without validation; (b) \`createSession\` + \`deleteSession\` ` +
        `pairs to a loopback number that answers, with the session-status events delivered meanwhile to a local HTTPS receiver. ` +
        `Goal: (a) ≥ ${fmtInt(GOAL_REGISTRATIONS_PER_S)} registrations/s with p99 < ${GOAL_P99_MS} ms on the embedded defaults.`,
      columns: ['scenario', 'req/s', 'p50', 'p99', 'ratio vs peer (req/s)', 'errors / non-2xx', 'goal'],
      rows: [
        [
          'peer: minimal Fastify route, `POST /sessions` (Map insert)',
          fmtInt(peerRun.requestsPerS),
          ms(peerRun.p50),
          ms(peerRun.p99),
          fmtRatio(1),
          `${peerRun.errors} / ${peerRun.non2xx}`,
          '',
        ],
        [
          '(a) gateway `createRegistration`',
          fmtInt(regRun.requestsPerS),
          ms(regRun.p50),
          ms(regRun.p99),
          fmtRatio(ratio),
          `${regRun.errors} / ${regRun.non2xx}`,
          goalText,
        ],
        [
          '(b) gateway `createSession` + `deleteSession` (requests)',
          `${fmtInt(pairRun.requestsPerS)} (${fmtInt(pairRun.requestsPerS / 2)} pairs/s)`,
          ms(pairRun.p50),
          ms(pairRun.p99),
          '',
          `${pairRun.errors} / ${pairRun.non2xx}`,
          '',
        ],
        [
          '(b) session-status events delivered to the HTTPS receiver',
          `${fmtInt(eventsDuring / DURATION_S)} events/s`,
          '',
          '',
          '',
          '',
          '',
        ],
      ],
      notes,
    };
  } finally {
    await pki.cleanup();
    await cleanup();
  }
}
