/**
 * Server stubs: requests/second and p99 latency of `POST /webrtc-registration/vwip/sessions`
 * (`createRegistration`) served by the generated Fastify plugin and Express router against
 * hand-written Fastify (schema for the body) and the generic OpenAPI middlewares
 * (fastify-openapi-glue, express-openapi-validator, openapi-backend), all with the same trivial handler,
 * loaded by autocannon over loopback.
 *
 * The Fastify servers run side by side in one child process and the Express apps in another (this
 * file, started with `--import tsx`), each server on its own port, so the load generator (this
 * process) and the server under test each get a core, and the servers compared run in the same
 * process state (see PROCESSES).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import {
  type BenchResult,
  describeSpecSources,
  fmtInt,
  fmtRatio,
  median,
  medianInterval,
  percentile,
  repoRoot,
  resolveSpecs,
  settledGoal,
} from './util.ts';

const require = createRequire(import.meta.url);

const MOUNT = '/webrtc-registration/vwip';
const PATH = `${MOUNT}/sessions`;
const CONNECTIONS = 10;
const WARMUP_S = 2;
/**
 * PROCESSES pairs of server processes (Fastify, Express) one after the other, measured in ROUNDS
 * rounds of one SEGMENT_S-second segment per variant, every other round in reverse order. How fast one
 * Node process runs the same code varies from process to process and stays so (the same route ran at
 * 13,000 req/s in one process and 24,000 in the next; in CPU profiles, slow processes spent about 2 µs
 * more per request in Node's own `process.nextTick`): with the Fastify servers in one process, each
 * round's ratios between them compare servers in the same state. No forced garbage collection between
 * segments: after `gc()` the next half-second ran at a quarter of the speed.
 */
const PROCESSES = 4;
const ROUNDS = 6;
const SEGMENT_S = 0.5;
/** Goals: Fastify plugin ≥ 0.9× hand-written Fastify; each generated server ahead of its generic peers. */
const HAND_GOAL = 0.9;

const REQUEST_BODY = JSON.stringify({ deviceId: '7d444840-9dc0-11d1-b245-5ffdce74fad2' });
const REQUEST_HEADERS = {
  authorization: 'Bearer x',
  'content-type': 'application/json',
};
/** What every server's handler answers with (a `RegSessionResponse`), status 201. */
const RESPONSE = {
  registrationId: 'a1b2c3d4-1234-5678-abcd-ef0123456789',
  expiresAt: '2026-05-05T13:32:17.358Z',
  regInfo: { phoneNumber: '+123456789', regStatus: 'Registered' },
};
/** What `authenticate` (and the peers' security handlers) hand over. */
const AUTH = { subject: 'bench', scopes: ['webrtc-registration:sessions:create'] };

/**
 * The Fastify servers share one process and the Express apps another: Express swaps the prototype of
 * every request and response object, which Node's own `http` code handles for both frameworks.
 */
const frameworks = ['fastify', 'express'] as const;
type Framework = (typeof frameworks)[number];

type VariantId =
  | 'telegate-fastify'
  | 'telegate-express'
  | 'fastify-hand'
  | 'fastify-hand-correlator'
  | 'fastify-hand-same-work'
  | 'fastify-glue'
  | 'fastify-glue-correlator'
  | 'express-eov'
  | 'express-backend';
interface Variant {
  id: VariantId;
  label: string;
  framework: Framework;
  correlator?: 'answered' | 'checked';
}

/**
 * `correlator`: `answered` when the server answers with an `x-correlator`, `checked` when it also
 * refuses one not matching the spec's pattern (both checked before timing).
 */
const VARIANTS: readonly Variant[] = [
  {
    id: 'telegate-fastify',
    framework: 'fastify',
    label: 'telegate Fastify plugin (`createRegistrationPlugin`)',
    correlator: 'checked',
  },
  {
    id: 'telegate-express',
    framework: 'express',
    label: 'telegate Express router (`createRegistrationRouter`)',
    correlator: 'checked',
  },
  { id: 'fastify-hand', framework: 'fastify', label: 'hand-written Fastify, body schema (built-in Ajv)' },
  {
    id: 'fastify-hand-correlator',
    framework: 'fastify',
    label: 'for reference: the same hand-written Fastify, also answering with an `x-correlator`',
    correlator: 'answered',
  },
  {
    id: 'fastify-hand-same-work',
    framework: 'fastify',
    label:
      'for reference: hand-written Fastify doing what the plugin does (`x-correlator` checked and answered, `authenticate` called)',
    correlator: 'checked',
  },
  { id: 'fastify-glue', framework: 'fastify', label: 'fastify-openapi-glue' },
  {
    id: 'fastify-glue-correlator',
    framework: 'fastify',
    label: 'for reference: the same fastify-openapi-glue, also answering with an `x-correlator`',
    correlator: 'answered',
  },
  { id: 'express-eov', framework: 'express', label: 'Express + express-openapi-validator' },
  { id: 'express-backend', framework: 'express', label: 'Express + openapi-backend' },
];

// ─── autocannon (CommonJS, no bundled types) ───────────────────────────────────────────────

interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
interface CannonInstance extends Promise<CannonResult> {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void,
  ): void;
}
type Autocannon = (options: Record<string, unknown>) => CannonInstance;

// ─── parent: load generation ───────────────────────────────────────────────────────────────

/** One variant's tallies over every process; `child` and `url` are those of the current process. */
interface Server extends Variant {
  child: ChildProcess;
  url: string;
  /** 201 responses and measured seconds, over all segments. */
  ok: number;
  seconds: number;
  bad: number;
  /** Per-segment requests/second. */
  segments: number[];
  /** Per-segment CPU time of the load generator (this process) over wall time. */
  clientCpu: number[];
  /** CPU time of the server process over all segments, µs. */
  cpuMicros: number;
  /** Latency of every 201 response, ms. */
  latencies: number[];
}

/** `@telegate/runtime/<sub>` and the generated `@telegate/webrtc-api` modules from their TypeScript source; npm packages stay external (node_modules). */
function runtimeSource(): Plugin {
  const src = join(repoRoot, 'packages/runtime/src');
  return {
    name: 'telegate-runtime-source',
    setup(b) {
      b.onResolve({ filter: /^@telegate\/runtime(\/[\w-]+)?$/ }, (args) => {
        const sub = args.path.slice('@telegate/runtime'.length);
        return { path: join(src, sub, 'index.ts') };
      });
      // The routers' validators, from the one generated home of the API.
      b.onResolve({ filter: /^@telegate\/webrtc-api\/[\w.-]+\.gen\.js$/ }, (args) => ({
        path: join(
          repoRoot,
          'packages/webrtc-api/src/gen',
          args.path.split('/').pop()!.replace(/\.js$/, '.ts'),
        ),
      }));
    },
  };
}

/** The committed generated registration plugin and router, with the runtime from source, as one ES module. */
async function bundleTelegate(dir: string): Promise<string> {
  const gen = join(repoRoot, 'packages/webrtc-server/src/gen');
  const entry = join(dir, 'telegate-entry.ts');
  await writeFile(
    entry,
    [
      `export { createRegistrationPlugin } from ${JSON.stringify(join(gen, 'webrtc-registration.fastify.gen.ts'))};`,
      `export { createRegistrationRouter } from ${JSON.stringify(join(gen, 'webrtc-registration.express.gen.ts'))};`,
      `export { registrationMountPath } from ${JSON.stringify(join(gen, 'webrtc-registration.handlers.gen.ts'))};`,
      '',
    ].join('\n'),
  );
  const outfile = join(dir, 'telegate-server.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    plugins: [runtimeSource()],
  });
  return outfile;
}

const thisFile = fileURLToPath(import.meta.url);

/** CPU lists for `taskset`: servers on the last CPU, the load generator on the others. */
interface Pinning {
  server: string;
  load: string;
  /** The load generator's affinity before, restored afterwards. */
  previous: string;
}

/**
 * On Linux with `taskset` and at least 2 CPUs, pins the servers and the load
 * generator to separate CPUs, so neither takes the other's core and rounds
 * vary less; elsewhere nothing is pinned.
 */
function pinCpus(): Pinning | undefined {
  const cpus = availableParallelism();
  if (process.platform !== 'linux' || cpus < 2) return undefined;
  try {
    const current = execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' });
    const previous = current.slice(current.lastIndexOf(':') + 1).trim();
    const last = cpus - 1;
    const pinning = { server: String(last), load: last === 1 ? '0' : `0-${last - 1}`, previous };
    execFileSync('taskset', ['-a', '-p', '-c', pinning.load, String(process.pid)], { stdio: 'ignore' });
    return pinning;
  } catch {
    return undefined;
  }
}

function unpinCpus(pinning: Pinning | undefined): void {
  if (!pinning) return;
  execFileSync('taskset', ['-a', '-p', '-c', pinning.previous, String(process.pid)], { stdio: 'ignore' });
}

interface Host {
  child: ChildProcess;
  ports: Record<VariantId, number>;
}

/** One server process serving `variants`, each on its own port. */
function startHost(
  variants: readonly VariantId[],
  telegateModule: string,
  specPath: string,
  pinning: Pinning | undefined,
): Promise<Host> {
  const node = ['--import', 'tsx'];
  const child = fork(thisFile, [telegateModule, specPath, ...variants], {
    cwd: repoRoot,
    ...(pinning
      ? { execPath: 'taskset', execArgv: ['-c', pinning.server, process.execPath, ...node] }
      : { execArgv: node }),
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('server process did not start within 60 s'));
    }, 60_000);
    child.once('message', (message: { ports?: Record<VariantId, number>; error?: string }) => {
      clearTimeout(timer);
      if (message.error !== undefined || message.ports === undefined) {
        child.kill();
        reject(new Error(`server process: ${message.error ?? 'no ports'}`));
        return;
      }
      resolve({ child, ports: message.ports });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server process exited with ${code} before it was ready`));
    });
  });
}

async function stopHost({ child }: Host): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Every server answers the valid request with 201 + the fixed body and refuses bad bodies with 400;
 * those that should answer with an `x-correlator` do, and those that check it refuse a bad one.
 */
async function verify(server: Server): Promise<void> {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(server.url, { method: 'POST', headers: { ...REQUEST_HEADERS, ...headers }, body });
  const valid = await post(REQUEST_BODY);
  const text = await valid.text();
  if (valid.status !== 201) throw new Error(`${server.id}: valid request got ${valid.status}: ${text}`);
  if (!isDeepStrictEqual(JSON.parse(text), RESPONSE)) {
    throw new Error(`${server.id}: unexpected body ${text}`);
  }
  if (server.correlator !== undefined && !valid.headers.get('x-correlator')) {
    throw new Error(`${server.id}: answered without an x-correlator`);
  }
  if (server.correlator === 'checked') {
    const response = await post(REQUEST_BODY, { 'x-correlator': 'no spaces allowed' });
    const answer = await response.text();
    if (response.status !== 400) {
      throw new Error(`${server.id}: a bad x-correlator got ${response.status}, expected 400: ${answer}`);
    }
  }
  for (const [what, body] of [
    ['deviceId not a uuid', { deviceId: 'not-a-uuid' }],
    ['deviceId missing', { registrationExpireTime: '2026-05-05T13:32:17.358Z' }],
  ] as const) {
    const response = await post(JSON.stringify(body));
    const answer = await response.text();
    if (response.status !== 400) {
      throw new Error(`${server.id}: ${what} got ${response.status}, expected 400: ${answer}`);
    }
  }
}

/** The server process's CPU time so far (user + system), µs, asked over IPC. */
function serverCpuMicros(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.id}: server stopped answering`)), 10_000);
    server.child.once('message', (message: { cpu: NodeJS.CpuUsage }) => {
      clearTimeout(timer);
      resolve(message.cpu.user + message.cpu.system);
    });
    server.child.send('cpu');
  });
}

async function load(server: Server, seconds: number, record: boolean): Promise<void> {
  const autocannon = require('autocannon') as Autocannon;
  const serverCpu = await serverCpuMicros(server);
  const cpu = process.cpuUsage();
  const instance = autocannon({
    url: server.url,
    method: 'POST',
    headers: REQUEST_HEADERS,
    body: REQUEST_BODY,
    connections: CONNECTIONS,
    duration: seconds,
    // autocannon stops at the first sample tick after `duration` (default every second).
    sampleInt: 100,
  });
  let ok = 0;
  if (record) {
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status === 201) {
        ok++;
        server.latencies.push(ms);
      }
    });
  }
  const result = await instance;
  const used = process.cpuUsage(cpu);
  const serverUsed = (await serverCpuMicros(server)) - serverCpu;
  if (!record) return;
  server.bad += result.errors + result.timeouts + result.non2xx;
  server.ok += ok;
  server.seconds += result.duration;
  server.segments.push(ok / result.duration);
  server.clientCpu.push((used.user + used.system) / 1e6 / result.duration);
  server.cpuMicros += serverUsed;
}

export async function serverStubsBench(): Promise<BenchResult> {
  const spec = resolveSpecs().find((s) => s.name === 'webrtc-registration')!;
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  // Inside the repository, so the bundle resolves npm packages from its node_modules.
  const dir = await mkdtemp(join(repoRoot, '.tmp', 'bench-server-stubs-'));
  const servers: Server[] = VARIANTS.map((variant) => ({
    ...variant,
    child: undefined as unknown as ChildProcess,
    url: '',
    ok: 0,
    seconds: 0,
    bad: 0,
    segments: [],
    clientCpu: [],
    cpuMicros: 0,
    latencies: [],
  }));
  let hosts: Host[] = [];
  const startupSeconds: number[] = [];
  const pinning = pinCpus();
  try {
    const telegateModule = await bundleTelegate(dir);
    for (let run = 0; run < PROCESSES; run++) {
      const started = performance.now();
      const starts = await Promise.allSettled(
        frameworks.map((framework) =>
          startHost(
            VARIANTS.flatMap((v) => (v.framework === framework ? [v.id] : [])),
            telegateModule,
            spec.path,
            pinning,
          ),
        ),
      );
      // Every process that started is stopped below, even if another failed.
      hosts = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []));
      for (const start of starts) if (start.status === 'rejected') throw start.reason;
      startupSeconds.push((performance.now() - started) / 1000);
      for (const server of servers) {
        const host = hosts[frameworks.indexOf(server.framework)]!;
        server.child = host.child;
        server.url = `http://127.0.0.1:${host.ports[server.id]}${PATH}`;
      }
      for (const server of servers) await verify(server);
      for (const server of servers) await load(server, WARMUP_S, false);
      for (let round = 0; round < ROUNDS; round++) {
        const order = (run * ROUNDS + round) % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) await load(server, SEGMENT_S, true);
      }
      await Promise.all(hosts.map(stopHost));
      hosts = [];
    }
  } finally {
    await Promise.all(hosts.map(stopHost));
    await rm(dir, { recursive: true, force: true });
    unpinCpus(pinning);
  }

  const by = (id: VariantId) => servers.find((s) => s.id === id)!;
  const rate = (s: Server) => s.ok / s.seconds;
  const p99 = (s: Server) => percentile(s.latencies, 99);
  const cpu = (s: Server) => s.cpuMicros / s.ok;
  const ours = { fastify: by('telegate-fastify'), express: by('telegate-express') };
  /**
   * Ours over the peer per round (> 1: ours faster): a round runs every server within seconds of each
   * other, those of one framework in the same process.
   */
  const roundRatios = (mine: Server, peer: Server) => mine.segments.map((r, i) => r / peer.segments[i]!);
  /** The 95% interval of the median round ratio (PROCESSES × ROUNDS rounds: always enough for one). */
  const interval = (ratios: number[]) => medianInterval(ratios)!;
  const fmtInterval = ([low, high]: [number, number]) => `${fmtRatio(low)}–${fmtRatio(high)}`;
  const versus = (mine: Server, peer: Server) => {
    const ratios = roundRatios(mine, peer);
    return (
      `${fmtRatio(median(ratios))} req/s (95%: ${fmtInterval(interval(ratios))}; rounds ` +
      `${fmtInterval([Math.min(...ratios), Math.max(...ratios)])}), ` +
      `${fmtRatio(p99(mine) / p99(peer))} p99, ${fmtRatio(cpu(mine) / cpu(peer))} CPU`
    );
  };
  const goalCell = (who: string, mine: Server, peer: Server, min: number) =>
    `${who} ${settledGoal(interval(roundRatios(mine, peer)), min)} (≥ ${fmtRatio(min)})`;
  const genericPeers: VariantId[] = ['fastify-glue', 'express-eov', 'express-backend'];

  const rows = servers.map((server) => {
    const mine = server === ours.fastify || server === ours.express;
    const goals: string[] = [];
    if (server.id === 'fastify-hand') goals.push(goalCell('plugin', ours.fastify, server, HAND_GOAL));
    if (genericPeers.includes(server.id)) goals.push(goalCell('plugin', ours.fastify, server, 1));
    if (server.id === 'express-eov') goals.push(goalCell('router', ours.express, server, 1));
    return [
      server.label,
      `${fmtInt(rate(server))} (${fmtInt(Math.min(...server.segments))}–${fmtInt(Math.max(...server.segments))})`,
      `${p99(server).toFixed(2)} ms`,
      `${median(server.latencies).toFixed(2)} ms`,
      `${cpu(server).toFixed(1)} µs`,
      mine ? '' : versus(ours.fastify, server),
      server.id.startsWith('express-') ? versus(ours.express, server) : '',
      goals.join('; '),
    ];
  });
  const clientCpu = servers.flatMap((s) => s.clientCpu);

  const bad = servers.filter((s) => s.bad > 0).map((s) => `${s.id}: ${fmtInt(s.bad)}`);
  const notes = [
    `Spec: ${describeSpecSources([spec])}. Request: \`POST ${PATH}\` with \`${REQUEST_BODY}\`, ` +
      '`Authorization: Bearer x`, `content-type: application/json` (no `x-correlator`). Every server answers ' +
      '201 with the same fixed `RegSessionResponse` body; before timing each one is checked to answer that ' +
      'request with 201 and that body, and a `deviceId` that is not a UUID and a missing `deviceId` with 400; ' +
      'those that answer with an `x-correlator` to send one, and those that check it to refuse a malformed one with 400.',
    'telegate: the committed `packages/webrtc-server/src/gen/webrtc-registration.{fastify,express}.gen.ts` ' +
      'with `@telegate/runtime` from its TypeScript source (esbuild, npm packages from node_modules), ' +
      '`validateResponses: false` (the production setting: results are not checked against the spec), ' +
      '`allowPartial: true` (only `createRegistration` is implemented), `authenticate` returning a fixed object. ' +
      'Its pipeline also checks the media type, generates and returns an `x-correlator`, validates the ' +
      'documented headers, and writes the body with fast-json-stringify from the documented response schema ' +
      '(compiled when the plugin or router is created).',
    'Hand-written Fastify: one route with `schema.body` = `RegSessionRequest` from the spec (Fastify’s own ' +
      'Ajv, with formats), no auth hook, handler `reply.code(201); return body`. It sends no `x-correlator`, ' +
      'which every CAMARA response carries; its first reference row adds one (the request’s, else `randomUUID()`, ' +
      'no validation), to show what that header costs on the same code. Its second reference row does the ' +
      'work the plugin does for this operation: `schema.headers` with the spec’s `XCorrelator` as well ' +
      '(a bad one gets 400), the same `authenticate` function called in the handler, and the `x-correlator` ' +
      'answered as in the first. fastify-openapi-glue: ' +
      '`specification` = the parsed spec, `prefix` = the mount path (it derives none from OpenAPI 3 `servers`); ' +
      'it adds the documented response schemas, so Fastify serializes the body with fast-json-stringify. It ' +
      'needs its documented set-up `ajv.customOptions.strict: false` (the spec’s `example` keywords) and an ' +
      'error handler answering in the documented `ErrorInfo` shape (Fastify’s own validation error fails the ' +
      '400 response schema and turns into a 500). It sends no `x-correlator` either; its reference row adds ' +
      'one the same way.',
    'Security: none of the peers needed it skipped. Each gets a trivial handler for the `openId` ' +
      '(`openIdConnect`) scheme, like telegate’s `authenticate`: fastify-openapi-glue `securityHandlers.openId` ' +
      '(resolves), express-openapi-validator `validateSecurity.handlers.openId` (returns true; it does not ' +
      'check `openIdConnect` schemes itself), openapi-backend `securityHandlers.openId` (returns the object).',
    'express-openapi-validator: `express.json()` then `middleware({ apiSpec, validateRequests: true, ' +
      'validateResponses: false })` (spec validated at start-up, request formats checked), base path from the ' +
      'spec’s `servers`. openapi-backend: Express + `express.json()` in front, `apiRoot` = the mount path, ' +
      'ajv-formats added through `customizeAjv` (it ignores formats otherwise, so a bad UUID would pass). Express ' +
      'apps have `etag` off (the telegate router writes with `res.end`, the peers with `res.json`).',
    `Load: autocannon (programmatic) in the parent process, ${CONNECTIONS} connections, no pipelining, to ` +
      '127.0.0.1. The Fastify servers run side by side in one child process and the Express apps in ' +
      'another (`node --import tsx`, `NODE_ENV=production`), each server on its own port, idle while ' +
      'another is measured; ' +
      (pinning
        ? `the server processes pinned to CPU ${pinning.server} and the load generator to CPU ${pinning.load} (\`taskset\`). `
        : 'nothing pinned to a CPU. ') +
      `${PROCESSES} such pairs one after the other (start-up ${Math.max(...startupSeconds).toFixed(1)} s ` +
      'at most, not measured): how fast a Node process runs the same code differs from process to process ' +
      'and stays so (here the same Fastify route ran at 13,000 req/s in one process and 24,000 in the next), ' +
      'so the Fastify servers are compared within one process. They are kept apart from Express, which ' +
      'swaps the prototype of every request and response object that Node’s own `http` code also handles ' +
      `for Fastify. No forced garbage collection between segments: after \`gc()\` the next half-second ran at ` +
      `a quarter of the speed. ${WARMUP_S} s warm-up per server and ` +
      `process, then ${ROUNDS} rounds of ${SEGMENT_S} s per server, every other round in reverse order, so ` +
      `drift and other load on the machine hit all alike: ${PROCESSES * ROUNDS * SEGMENT_S} s measured per ` +
      `server over ${PROCESSES} processes. req/s counts 201 ` +
      'responses over the measured time; p99 and median are over the latency autocannon measured for every ' +
      '201 response of all rounds. "vs this": ours over that server, req/s as the median of the per-round ' +
      'ratios, with the 95% confidence interval of that median (the distribution-free sign-test interval ' +
      `over the ${PROCESSES * ROUNDS} rounds) and the lowest and highest round; p99 as the ratio of the p99s ` +
      '(req/s > 1× and p99 < 1× favour telegate). A goal is met when the whole interval clears it, missed ' +
      'when the whole interval falls short, and not settled when the interval spans the goal line: then ' +
      'this machine cannot tell the two apart at that margin.',
    '"server CPU per request": user + system CPU time of the server process (asked over IPC before and ' +
      'after each segment, the other servers of that process idle) over its 201 responses, most of it the ' +
      'kernel’s loopback send. It moves less than req/s with the load generator and with other load on the ' +
      'machine, but not nothing. Its ratio is ours over the peer (< 1× favours telegate).',
    `The load generator used ${Math.round(Math.min(...clientCpu) * 100)}–` +
      `${Math.round(Math.max(...clientCpu) * 100)}% of a core per segment (at 100% it, not the server, ` +
      'would be the limit).',
    bad.length > 0
      ? `Non-201 responses or errors during the load: ${bad.join(', ')}.`
      : 'No errors, timeouts or non-201 responses during the load.',
  ];

  return {
    id: 'server-stubs',
    title: 'Server stubs',
    description:
      'Requests/second and p99 latency of `POST /webrtc-registration/vwip/sessions` (`createRegistration`, ' +
      'valid body) through the generated Fastify plugin and Express router against hand-written Fastify and ' +
      'the generic OpenAPI middlewares, all serving the same trivial handler. Goals: the plugin within 10% of ' +
      'hand-written Fastify and ahead of every generic middleware; the router ahead of express-openapi-validator.',
    columns: [
      'server',
      'req/s (range over rounds)',
      'p99',
      'median',
      'server CPU per request',
      'Fastify plugin vs this',
      'Express router vs this',
      'goal',
    ],
    rows,
    notes,
  };
}

// ─── child: the servers ─────────────────────────────────────────────────────────────────────

interface Spec {
  components: { schemas: Record<string, unknown> };
}

type Listening = { port: number };

async function serveFastify(app: import('fastify').FastifyInstance): Promise<Listening> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { port: (app.server.address() as AddressInfo).port };
}

function serveExpress(app: import('express').Express): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error?: Error) => {
      if (error) reject(error);
      else resolve({ port: (server.address() as AddressInfo).port });
    });
  });
}

async function expressApp(): Promise<import('express').Express> {
  const express = require('express') as typeof import('express');
  const app = express();
  app.set('etag', false);
  return app;
}

/** What the reference peers answer with: the request's `x-correlator`, else a random UUID (no validation). */
function peerCorrelator(headers: Record<string, string | string[] | undefined>): string {
  const given = headers['x-correlator'];
  return typeof given === 'string' && given !== '' ? given : randomUUID();
}

/** The spec, parsed once per server process, for the servers that read schemas from it. */
let startDocument: Spec | undefined;

async function serve(variant: VariantId, telegateModule: string, specPath: string): Promise<Listening> {
  /** A fresh parse, for the peers that take the document over (and may change it). */
  const spec = (): Spec => parseYaml(readFileSync(specPath, 'utf8')) as Spec;
  startDocument ??= spec();
  const requestSchema = startDocument.components.schemas.RegSessionRequest;
  switch (variant) {
    case 'telegate-fastify':
    case 'telegate-express': {
      type Handlers = Record<string, (input: unknown) => unknown>;
      type Options = {
        authenticate: () => unknown;
        validateResponses: boolean;
        allowPartial: boolean;
      };
      const telegate = (await import(pathToFileURL(telegateModule).href)) as {
        createRegistrationPlugin(h: Handlers, o: Options): import('fastify').FastifyPluginAsync;
        createRegistrationRouter(h: Handlers, o: Options): import('express').Router;
        registrationMountPath: string;
      };
      const handlers: Handlers = { createRegistration: async () => ({ status: 201, body: RESPONSE }) };
      const options: Options = { authenticate: () => AUTH, validateResponses: false, allowPartial: true };
      if (variant === 'telegate-fastify') {
        const { default: Fastify } = await import('fastify');
        const app = Fastify();
        await app.register(telegate.createRegistrationPlugin(handlers, options), {
          prefix: telegate.registrationMountPath,
        });
        return serveFastify(app);
      }
      const app = await expressApp();
      app.use(telegate.registrationMountPath, telegate.createRegistrationRouter(handlers, options));
      return serveExpress(app);
    }
    case 'fastify-hand': {
      const { default: Fastify } = await import('fastify');
      const app = Fastify();
      app.post(PATH, { schema: { body: requestSchema } }, async (_request, reply) => {
        reply.code(201);
        return RESPONSE;
      });
      return serveFastify(app);
    }
    case 'fastify-hand-correlator': {
      const { default: Fastify } = await import('fastify');
      const app = Fastify();
      app.post(PATH, { schema: { body: requestSchema } }, async (request, reply) => {
        reply.code(201).header('x-correlator', peerCorrelator(request.headers));
        return RESPONSE;
      });
      return serveFastify(app);
    }
    case 'fastify-hand-same-work': {
      // The plugin's work by hand: the body and the `x-correlator` header checked against the spec
      // (Fastify's Ajv), the same `authenticate` function called, the request's `x-correlator`
      // echoed or a new one sent.
      const { default: Fastify } = await import('fastify');
      const app = Fastify();
      // Without `example`, which Fastify's Ajv (strict) refuses.
      const { example: _example, ...xCorrelator } = startDocument.components.schemas.XCorrelator as {
        example?: unknown;
      };
      const headers = { type: 'object', properties: { 'x-correlator': xCorrelator } };
      const authenticate = (_request: unknown): typeof AUTH => AUTH;
      app.post(PATH, { schema: { body: requestSchema, headers } }, async (request, reply) => {
        (request as { auth?: unknown }).auth = authenticate(request);
        reply.code(201).header('x-correlator', peerCorrelator(request.headers));
        return RESPONSE;
      });
      return serveFastify(app);
    }
    case 'fastify-glue':
    case 'fastify-glue-correlator': {
      const { default: Fastify } = await import('fastify');
      const { default: openapiGlue } = await import('fastify-openapi-glue');
      const correlate = variant === 'fastify-glue-correlator';
      // Its documented set-up: Ajv's strict mode refuses OpenAPI's `example` keyword in schemas.
      const app = Fastify({ ajv: { customOptions: { strict: false } } });
      // The documented 400 schema (`ErrorInfo`) serializes error responses: answer in that shape.
      app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
        const status = error.statusCode ?? 500;
        reply
          .code(status)
          .send({ status, code: status === 400 ? 'INVALID_ARGUMENT' : 'INTERNAL', message: error.message });
      });
      await app.register(openapiGlue, {
        specification: spec(),
        prefix: MOUNT,
        serviceHandlers: {
          createRegistration: async (
            request: { headers: Record<string, string | string[] | undefined> },
            reply: { code(status: number): unknown; header(name: string, value: string): unknown },
          ) => {
            reply.code(201);
            if (correlate) reply.header('x-correlator', peerCorrelator(request.headers));
            return RESPONSE;
          },
        },
        securityHandlers: {
          openId: async (request: { auth?: unknown }) => {
            request.auth = AUTH;
          },
        },
      });
      return serveFastify(app);
    }
    case 'express-eov': {
      const express = require('express') as typeof import('express');
      const OpenApiValidator = require('express-openapi-validator') as {
        middleware(options: object): import('express').RequestHandler[];
      };
      const app = await expressApp();
      app.use(express.json());
      app.use(
        OpenApiValidator.middleware({
          apiSpec: spec(),
          validateRequests: true,
          validateResponses: false,
          validateSecurity: {
            handlers: {
              openId: (request: { auth?: unknown }) => {
                request.auth = AUTH;
                return true;
              },
            },
          },
        }),
      );
      app.post(PATH, (_req, res) => {
        res.status(201).json(RESPONSE);
      });
      app.use(
        (
          error: { status?: number; message: string },
          _req: import('express').Request,
          res: import('express').Response,
          _next: import('express').NextFunction,
        ) => {
          res.status(error.status ?? 500).json({ message: error.message });
        },
      );
      return serveExpress(app);
    }
    case 'express-backend': {
      const express = require('express') as typeof import('express');
      const { OpenAPIBackend } = require('openapi-backend') as typeof import('openapi-backend');
      const addFormats = require('ajv-formats') as (ajv: unknown) => void;
      type Res = import('express').Response;
      const api = new OpenAPIBackend({
        definition: spec() as never,
        apiRoot: MOUNT,
        customizeAjv: (ajv) => {
          addFormats(ajv);
          return ajv;
        },
        securityHandlers: { openId: () => AUTH },
        handlers: {
          createRegistration: (_c: unknown, _req: unknown, res: Res) => res.status(201).json(RESPONSE),
          validationFail: (c: { validation: { errors?: unknown } }, _req: unknown, res: Res) =>
            res.status(400).json({ errors: c.validation.errors }),
          unauthorizedHandler: (_c: unknown, _req: unknown, res: Res) => res.status(401).json({}),
          notFound: (_c: unknown, _req: unknown, res: Res) => res.status(404).json({}),
          notImplemented: (_c: unknown, _req: unknown, res: Res) => res.status(501).json({}),
        },
      });
      await api.init();
      const app = await expressApp();
      app.use(express.json());
      app.use((req, res) =>
        api.handleRequest(
          {
            method: req.method,
            path: req.path,
            body: req.body,
            query: req.query as Record<string, string>,
            headers: req.headers as Record<string, string>,
          },
          req,
          res,
        ),
      );
      return serveExpress(app);
    }
  }
}

if (process.argv[1] === thisFile && process.send) {
  const [telegateModule, specPath, ...variants] = process.argv.slice(2) as [string, string, ...VariantId[]];
  try {
    const ports: Partial<Record<VariantId, number>> = {};
    for (const variant of variants) ports[variant] = (await serve(variant, telegateModule, specPath)).port;
    process.send({ ports });
  } catch (error) {
    process.send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('SIGTERM', () => process.exit(0));
}
