/**
 * Callback delivery over real HTTP on 127.0.0.1: the generated CloudEvents
 * sender (payloads validated before queueing) posting to the generated
 * receiver (payloads validated again), against plain `fetch` POSTs of the same
 * CloudEvent JSON to a minimal `node:http` receiver doing `JSON.parse`.
 *
 * (a) throughput: a burst of session-status events over many sinks (each sink
 * is an ordered queue, one delivery in flight, so the sinks are the
 * concurrency); (b) latency: the same events paced at a fixed rate, send →
 * handler. The receivers run in a child process (the sender has this one to
 * itself, as it would in production); both sides timestamp with
 * `performance.timeOrigin + performance.now()`, corrected by a measured offset.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import {
  type BenchResult,
  collectGarbage,
  fmtInt,
  fmtMs,
  fmtRatio,
  median,
  percentile,
  repoRoot,
} from './util.ts';

/** Goals (issue 6): burst throughput with validation on both sides, and p99 at the paced rate. */
const THROUGHPUT_GOAL = 5_000;
const P99_GOAL_MS = 20;
/** (a): events per burst, spread round-robin over this many sinks (one ordering key each). */
const BURST_EVENTS = 20_000;
const SINKS = 50;
const BURST_ROUNDS = 3;
/** (b): this many events per second for this long, over the same sinks. */
const PACED_RATE = 1_000;
const PACED_SECONDS = 5;
const PACED_ROUNDS = 3;
/** Untimed events per variant first (JIT, keep-alive sockets). */
const WARMUP_EVENTS = 2_000;
/** Per run: give up (and fail the benchmark) after this long. */
const RUN_TIMEOUT_MS = 60_000;

const GENERATED = join(repoRoot, 'packages/webrtc-api/src/gen/webrtc-events.callbacks.gen.ts');
const T = 'org.camaraproject.webrtc-events.v0';
const TYPE = `${T}.session-status`;
const SOURCE = 'https://gateway.example/webrtc-events';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.bench-sink-access-token';
const sinkCredential = {
  credentialType: 'ACCESSTOKEN',
  accessToken: TOKEN,
  accessTokenExpiresUtc: '2099-12-31T23:59:59Z',
  accessTokenType: 'bearer',
};

const now = () => performance.timeOrigin + performance.now();

/** A session-status event as an API provider sends it (the sender fills `specversion`, `time`, `source`). */
function sessionStatus(id: string, sink: number, sequenceNumber: number) {
  return {
    id,
    type: TYPE,
    datacontenttype: 'application/json',
    data: {
      subscriptionId: `sub-${sink}`,
      mediaSessionId: `0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f${sink % 10}`,
      originatorAddress: 'tel:+17175550100',
      receiverAddress: 'sip:bob@example.com',
      status: 'Connected',
      sequenceNumber,
    },
  };
}

/** The same event complete, as the sender would serialise it: what the peer posts. */
function completeEvent(id: string, sink: number, sequenceNumber: number) {
  return {
    specversion: '1.0',
    time: new Date().toISOString(),
    source: SOURCE,
    ...sessionStatus(id, sink, sequenceNumber),
  };
}

/** `@telegate/runtime/<sub>` from its TypeScript source; npm packages stay external (node_modules). */
function runtimeSource(): Plugin {
  const src = join(repoRoot, 'packages/runtime/src');
  return {
    name: 'telegate-runtime-source',
    setup(b) {
      b.onResolve({ filter: /^@telegate\/runtime(\/[\w-]+)?$/ }, (args) => ({
        path: join(src, args.path.slice('@telegate/runtime'.length), 'index.ts'),
      }));
    },
  };
}

/** The receiver process: the generated receiver (`telegate`) or `node:http` + `JSON.parse` (`plain`). */
function receiverScript(module: string): string {
  return `import { createServer } from 'node:http';
const mode = process.argv[2];
const TOKEN = ${JSON.stringify(TOKEN)};
const now = () => performance.timeOrigin + performance.now();
let ids = [];
let times = [];
let cpu = process.cpuUsage();
const record = (id) => { times.push(now()); ids.push(id); };
let listener;
if (mode === 'telegate') {
  const { createEventsCallbackReceiver } = await import(${JSON.stringify(pathToFileURL(module).href)});
  const unexpected = (event) => { throw new Error('unexpected event ' + event.type); };
  const receiver = createEventsCallbackReceiver(
    {
      onSessionStatus: (event) => record(event.id),
      onSessionInvitation: unexpected,
      onSubscriptionEnded: unexpected,
      onRegistrationEnds: unexpected,
    },
    { auth: { bearer: TOKEN } },
  );
  listener = receiver.node;
} else {
  listener = (req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      let event;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.statusCode = 400;
        res.end();
        return;
      }
      record(event.id);
      res.statusCode = 204;
      res.end();
    });
  };
}
const server = createServer(listener);
server.listen(0, '127.0.0.1', () => process.send({ kind: 'ready', port: server.address().port }));
process.on('message', (message) => {
  if (message === 'ping') {
    process.send({ kind: 'pong', at: now() });
  } else if (message === 'collect') {
    process.send({ kind: 'collected', ids, times, cpu: process.cpuUsage(cpu) });
    ids = [];
    times = [];
    cpu = process.cpuUsage();
  } else if (message === 'exit') {
    server.closeAllConnections();
    server.close(() => process.disconnect());
  }
});
`;
}

interface Collected {
  ids: string[];
  times: number[];
  cpu: NodeJS.CpuUsage;
}

/** A receiver child process and the IPC to read what its handler saw. */
class ReceiverProcess {
  private waiters: ((message: Record<string, unknown>) => void)[] = [];
  /** Child clock minus ours, from the ping with the shortest round trip. */
  offset = 0;
  rtt = Number.POSITIVE_INFINITY;
  port = 0;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message) => this.waiters.shift()?.(message as Record<string, unknown>));
  }

  static async start(script: string, mode: 'telegate' | 'plain'): Promise<ReceiverProcess> {
    const child = fork(script, [mode], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const receiver = new ReceiverProcess(child);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${mode} receiver exited (${code})`))),
    );
    const ready = await Promise.race([receiver.next(), exited]);
    receiver.port = ready.port as number;
    for (let i = 0; i < 50; i++) {
      const sent = now();
      child.send('ping');
      const { at } = await receiver.next();
      const back = now();
      if (back - sent < receiver.rtt) {
        receiver.rtt = back - sent;
        receiver.offset = (at as number) - (sent + back) / 2;
      }
    }
    return receiver;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  sinks(): string[] {
    return Array.from({ length: SINKS }, (_, k) => `http://127.0.0.1:${this.port}/sinks/${k}`);
  }

  async collect(): Promise<Collected> {
    this.child.send('collect');
    return (await this.next()) as unknown as Collected;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send('exit');
    const timer = setTimeout(() => this.child.kill(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

type DeliveryResult = { ok: boolean; reason?: string; status?: number; message?: string };
type Sender = {
  postNotification(
    sink: string,
    event: unknown,
    options: { sinkCredential: typeof sinkCredential; orderingKey?: string },
  ): Promise<DeliveryResult>;
  close(): Promise<void>;
};
/** Sends event `index` (to sink `index % SINKS`); resolves once the sink acknowledged it, else rejects. */
type SendOne = (id: string, index: number) => Promise<void>;
/** Runs `count` events with at most one in flight per sink; resolves when every one is acknowledged. */
type Burst = (tag: string, count: number, sendTimes: Float64Array) => Promise<void>;

function telegateSend(sender: Sender, sinks: string[]): SendOne {
  return async (id, index) => {
    const sink = index % SINKS;
    const result = await sender.postNotification(
      sinks[sink]!,
      sessionStatus(id, sink, 1 + Math.floor(index / SINKS)),
      { sinkCredential, orderingKey: `sub-${sink}` },
    );
    if (!result.ok) throw new Error(`telegate sender: ${result.reason} ${result.message ?? ''}`);
  };
}

function fetchSend(sinks: string[]): SendOne {
  const headers = { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` };
  return async (id, index) => {
    const sink = index % SINKS;
    const response = await fetch(sinks[sink]!, {
      method: 'POST',
      headers,
      body: JSON.stringify(completeEvent(id, sink, 1 + Math.floor(index / SINKS))),
    });
    await response.arrayBuffer();
    if (response.status !== 204) throw new Error(`fetch: sink answered ${response.status}`);
  };
}

/** The sender queues everything at once; its per-sink queues keep one delivery in flight per sink. */
function telegateBurst(send: SendOne): Burst {
  return async (tag, count, sendTimes) => {
    const pending: Promise<void>[] = new Array(count);
    for (let i = 0; i < count; i++) {
      sendTimes[i] = now();
      pending[i] = send(`${tag}-${i}`, i);
    }
    await settleAll(pending);
  };
}

/** The peer has no queue: one loop per sink, each posting its events one after the other. */
function laneBurst(send: SendOne): Burst {
  return async (tag, count, sendTimes) => {
    const lane = async (sink: number) => {
      for (let i = sink; i < count; i += SINKS) {
        sendTimes[i] = now();
        await send(`${tag}-${i}`, i);
      }
    };
    await settleAll(Array.from({ length: SINKS }, (_, k) => lane(k)));
  };
}

/** `rate` events per second, sent when due (checked every millisecond); no waiting for answers. */
async function paced(send: SendOne, tag: string, count: number, rate: number, sendTimes: Float64Array) {
  const pending: Promise<void>[] = [];
  const started = now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(count, Math.floor(((now() - started) * rate) / 1000) + 1);
      while (pending.length < due) {
        const i = pending.length;
        sendTimes[i] = now();
        pending.push(send(`${tag}-${i}`, i));
      }
      if (pending.length < count) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const lastSent = now();
  await settleAll(pending);
  return { sendMs: lastSent - started };
}

/** Waits for every send (none left unhandled), then throws the first failure. */
async function settleAll(pending: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(pending)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish in ${RUN_TIMEOUT_MS} ms`)),
      RUN_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface RunResult {
  eventsPerSecond: number;
  /** CPU time per event, microseconds. */
  senderCpuUs: number;
  receiverCpuUs: number;
  latencies: Float64Array;
}

/** Matches the handler's records to the send times; every event must have reached the handler once. */
function latenciesOf(collected: Collected, tag: string, sendTimes: Float64Array, offset: number) {
  const count = sendTimes.length;
  if (collected.ids.length !== count) {
    throw new Error(`${tag}: the handler saw ${collected.ids.length} events, ${count} were sent`);
  }
  const latencies = new Float64Array(count);
  const seen = new Uint8Array(count);
  const prefix = `${tag}-`;
  for (let j = 0; j < count; j++) {
    const id = collected.ids[j]!;
    const i = Number(id.slice(prefix.length));
    if (!id.startsWith(prefix) || !(i >= 0 && i < count) || seen[i])
      throw new Error(`${tag}: stray id ${id}`);
    seen[i] = 1;
    latencies[i] = collected.times[j]! - offset - sendTimes[i]!;
  }
  return latencies.sort();
}

let runCounter = 0;

async function run(
  receiver: ReceiverProcess,
  count: number,
  go: (tag: string, sendTimes: Float64Array) => Promise<unknown>,
): Promise<RunResult> {
  const tag = `r${++runCounter}`;
  const sendTimes = new Float64Array(count);
  await receiver.collect(); // resets the child's records and CPU baseline
  collectGarbage();
  const cpu = process.cpuUsage();
  const started = now();
  await withTimeout(go(tag, sendTimes), tag);
  const elapsed = now() - started;
  const senderCpu = process.cpuUsage(cpu);
  const collected = await receiver.collect();
  return {
    eventsPerSecond: count / (elapsed / 1000),
    senderCpuUs: (senderCpu.user + senderCpu.system) / count,
    receiverCpuUs: (collected.cpu.user + collected.cpu.system) / count,
    latencies: latenciesOf(collected, tag, sendTimes, receiver.offset),
  };
}

interface PacedRun extends RunResult {
  /** Events per second actually sent. */
  rate: number;
  p99: number;
}

interface Variant {
  label: string;
  receiver: ReceiverProcess;
  send: SendOne;
  burst: Burst;
  runs: RunResult[];
}

export async function callbacksBench(): Promise<BenchResult> {
  const loadBefore = loadavg()[0]!;
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  // Inside the repository, so the bundle resolves its npm packages (Ajv's runtime) from node_modules.
  const dir = await mkdtemp(join(repoRoot, '.tmp', 'bench-callbacks-'));
  const receivers: ReceiverProcess[] = [];
  let sender: Sender | undefined;
  try {
    const module = join(dir, 'webrtc-events.callbacks.mjs');
    await build({
      entryPoints: [GENERATED],
      outfile: module,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      plugins: [runtimeSource()],
    });
    const script = join(dir, 'receiver.mjs');
    await writeFile(script, receiverScript(module));
    const generated = (await import(pathToFileURL(module).href)) as {
      createEventsCallbackSender(options: object): Sender;
    };

    const telegateReceiver = await ReceiverProcess.start(script, 'telegate');
    receivers.push(telegateReceiver);
    const plainReceiver = await ReceiverProcess.start(script, 'plain');
    receivers.push(plainReceiver);

    sender = generated.createEventsCallbackSender({
      source: SOURCE,
      sinkPolicy: { allowHttp: true, allowlist: ['127.0.0.1'] },
      // Each ordering key holds BURST_EVENTS / SINKS at once in (a); the default (100) would refuse most.
      maxQueue: BURST_EVENTS,
    });

    // Validation is on at both ends: the sender refuses a bad event, the receiver answers 400 to one sent anyway.
    const bad = {
      ...sessionStatus('bad-1', 0, 0),
      data: { ...sessionStatus('bad-1', 0, 0).data, status: 'Up' },
    };
    const refused = await sender.postNotification(telegateReceiver.sinks()[0]!, bad, { sinkCredential });
    if (refused.ok || refused.reason !== 'invalid-payload')
      throw new Error(`the sender did not refuse an invalid event (${refused.reason ?? 'delivered'})`);
    const posted = await fetch(telegateReceiver.sinks()[0]!, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ ...completeEvent('bad-2', 0, 0), data: bad.data }),
    });
    await posted.arrayBuffer();
    if (posted.status !== 400) throw new Error(`the receiver answered ${posted.status} to an invalid event`);

    const variant = (label: string, receiver: ReceiverProcess, telegate: boolean): Variant => {
      const send = telegate ? telegateSend(sender!, receiver.sinks()) : fetchSend(receiver.sinks());
      return { label, receiver, send, burst: telegate ? telegateBurst(send) : laneBurst(send), runs: [] };
    };
    const headline = variant('telegate sender → telegate receiver', telegateReceiver, true);
    const peer = variant('peer: `fetch` → `node:http` + `JSON.parse`', plainReceiver, false);
    const senderOnly = variant(
      'for reference: telegate sender → `node:http` + `JSON.parse`',
      plainReceiver,
      true,
    );
    const receiverOnly = variant('for reference: `fetch` → telegate receiver', telegateReceiver, false);
    const bursts = [headline, peer, senderOnly, receiverOnly];

    for (const v of bursts) {
      await run(v.receiver, WARMUP_EVENTS, (tag, times) => v.burst(tag, WARMUP_EVENTS, times));
    }
    const burst = async (v: Variant) => {
      v.runs.push(await run(v.receiver, BURST_EVENTS, (tag, times) => v.burst(tag, BURST_EVENTS, times)));
      console.log(`  (a) ${v.label}: ${fmtInt(v.runs.at(-1)!.eventsPerSecond)} events/s`);
    };
    // (a) The headline and the peer in alternating order, so drift on the machine favours neither;
    // then the two reference variants once each.
    for (let round = 0; round < BURST_ROUNDS; round++) {
      for (const v of round % 2 === 0 ? [headline, peer] : [peer, headline]) await burst(v);
    }
    for (const v of [senderOnly, receiverOnly]) await burst(v);
    // (b) Paced: the headline and the peer, alternating; a run's tail is easily hit by other load on the
    // machine, so the row shows the run with the median p99.
    const pacedCount = PACED_RATE * PACED_SECONDS;
    const pacedRuns = new Map<Variant, PacedRun[]>([
      [headline, []],
      [peer, []],
    ]);
    for (let round = 0; round < PACED_ROUNDS; round++) {
      for (const v of round % 2 === 0 ? [headline, peer] : [peer, headline]) {
        let sendMs = 0;
        const result = await run(v.receiver, pacedCount, async (tag, times) => {
          ({ sendMs } = await paced(v.send, tag, pacedCount, PACED_RATE, times));
        });
        const p99 = percentile(result.latencies, 99);
        pacedRuns.get(v)!.push({ ...result, rate: (pacedCount - 1) / (sendMs / 1000), p99 });
        console.log(`  (b) ${v.label}: p99 ${fmtMs(p99)}`);
      }
    }

    const rate = (v: Variant) => median(v.runs.map((r) => r.eventsPerSecond));
    const cpu = (v: Variant, side: 'senderCpuUs' | 'receiverCpuUs') =>
      median(v.runs.map((r) => r[side])).toFixed(0);
    const ratios = (v: Variant) =>
      v === headline
        ? v.runs.map((r, i) => r.eventsPerSecond / peer.runs[i]!.eventsPerSecond)
        : v.runs.map((r) => r.eventsPerSecond / rate(peer));
    const ratioCell = (v: Variant) => {
      const r = ratios(v);
      if (r.length === 1) return fmtRatio(r[0]!);
      return `${fmtRatio(median(r))} (${fmtRatio(Math.min(...r))}–${fmtRatio(Math.max(...r))})`;
    };
    const range = (v: Variant) => {
      const rates = v.runs.map((r) => r.eventsPerSecond);
      return rates.length === 1 ? '' : ` (${fmtInt(Math.min(...rates))}–${fmtInt(Math.max(...rates))})`;
    };
    const burstRow = (v: Variant, goal: string) => [
      `(a) burst of ${fmtInt(BURST_EVENTS)}`,
      v.label,
      `${fmtInt(rate(v))}${range(v)}`,
      v === peer ? '1.00×' : ratioCell(v),
      '',
      '',
      cpu(v, 'senderCpuUs'),
      cpu(v, 'receiverCpuUs'),
      goal,
    ];
    const pacedRow = (v: Variant, goal: boolean) => {
      const runs = [...pacedRuns.get(v)!].sort((a, b) => a.p99 - b.p99);
      const r = runs[Math.floor(runs.length / 2)]!;
      return [
        `(b) ${fmtInt(PACED_RATE)}/s for ${PACED_SECONDS} s`,
        v.label,
        fmtInt(r.rate),
        '',
        fmtMs(percentile(r.latencies, 50)),
        `${fmtMs(r.p99)} (runs ${fmtMs(runs[0]!.p99)}–${fmtMs(runs.at(-1)!.p99)}; max ${fmtMs(r.latencies.at(-1)!)})`,
        r.senderCpuUs.toFixed(0),
        r.receiverCpuUs.toFixed(0),
        goal ? (r.p99 < P99_GOAL_MS ? `met (< ${P99_GOAL_MS} ms)` : `missed (≥ ${P99_GOAL_MS} ms)`) : '',
      ];
    };
    const throughputGoal =
      rate(headline) >= THROUGHPUT_GOAL
        ? `met (≥ ${fmtInt(THROUGHPUT_GOAL)}/s)`
        : `missed (< ${fmtInt(THROUGHPUT_GOAL)}/s)`;
    const rows = [
      burstRow(headline, throughputGoal),
      burstRow(peer, ''),
      burstRow(senderOnly, ''),
      burstRow(receiverOnly, ''),
      pacedRow(headline, true),
      pacedRow(peer, false),
    ];
    const offsets = receivers.map((r) => `${r.offset.toFixed(3)} ms (round trip ${r.rtt.toFixed(3)} ms)`);
    const notes = [
      `Events: \`${TYPE}\` CloudEvents (\`data\`: subscription and media-session ids, both addresses, ` +
        '`status`, `sequenceNumber`) from `createEventsCallbackSender` of ' +
        '`packages/webrtc-api/src/gen/webrtc-events.callbacks.gen.ts`, bundled by esbuild with the runtime’s ' +
        'source (npm packages from node_modules). The sender fills `specversion`, `time`, `source`, checks the ' +
        'envelope, validates with the generated validator, serialises, queues per ordering key and posts over ' +
        '`node:http` (keep-alive) with a bearer `sinkCredential` and the SSRF guard ' +
        '(`sinkPolicy: { allowHttp: true, allowlist: ["127.0.0.1"] }`); the generated receiver (`receiver.node` ' +
        'on `http.createServer`) checks the bearer token, parses, checks the envelope, validates, keeps its ' +
        'duplicate window (defaults) and calls `onSessionStatus`. Before timing, the sender is shown to refuse ' +
        'an invalid event and the receiver to answer 400 to one.',
      'Peer: `fetch` (Node’s built-in, undici, keep-alive) posting the same CloudEvent JSON with the same ' +
        'content type and bearer header, no validation and no queue, to a `node:http` server that reads the ' +
        'body and `JSON.parse`s it. The "for reference" rows swap one side, to show where the time goes.',
      `(a): ${fmtInt(BURST_EVENTS)} events round-robin over ${SINKS} sinks (distinct URLs, one ordering key ` +
        `each, so at most ${SINKS} requests in flight). telegate queues them all at once (\`maxQueue: ` +
        `${fmtInt(BURST_EVENTS)}\`) and the per-key queues send one at a time; the peer runs one loop per sink ` +
        'posting one after the other. events/s = events / (first send → last acknowledgement), every one ' +
        `reaching its handler exactly once (checked). telegate and the peer: median of ${BURST_ROUNDS} rounds ` +
        'in alternating order (range in brackets), "vs peer" the median of the per-round ratios; the ' +
        'reference rows: one run each, against the peer’s median. Every variant first gets an untimed ' +
        `warm-up of ${fmtInt(WARMUP_EVENTS)} events.`,
      `(b): ${fmtInt(PACED_RATE * PACED_SECONDS)} events sent when due at ${fmtInt(PACED_RATE)}/s (a 1 ms ` +
        'timer tick), round-robin over the same sinks, without waiting for answers; latency is from just ' +
        'before the send call to the handler’s first line, across the two processes. ' +
        `${PACED_ROUNDS} runs per variant, alternating; the row is the run with the median p99 (the p99 of ` +
        'every run in brackets, and that run’s maximum).',
      'Receivers run in one child process (plain `node`), the sender in the benchmark process, so each side ' +
        'has a core of the 2; CPU columns are `process.cpuUsage` per event of each process (µs of user + ' +
        `system). Clock offsets child − parent, from the quickest of 50 IPC pings: ${offsets.join(', ')}. ` +
        `1-minute load average before/after: ${loadBefore.toFixed(2)}/${loadavg()[0]!.toFixed(2)} (anything ` +
        'else running on the machine shows up in the absolute figures and the tails more than in the ratios).',
    ];
    return {
      id: 'callbacks',
      title: 'Callback delivery',
      description:
        'Events per second from the generated CloudEvents callback sender to the generated receiver over ' +
        'real HTTP on 127.0.0.1, validation on at both ends, and send → handler latency at a paced rate; ' +
        'peer: plain `fetch` POSTs of the same JSON to a `node:http` receiver doing `JSON.parse`, at the same ' +
        `concurrency. Goals: ≥ ${fmtInt(THROUGHPUT_GOAL)} events/s; p99 < ${P99_GOAL_MS} ms at ` +
        `${fmtInt(PACED_RATE)} events/s.`,
      columns: [
        'scenario',
        'variant',
        'events/s',
        'vs peer',
        'p50',
        'p99',
        'sender CPU µs/event',
        'receiver CPU µs/event',
        'goal',
      ],
      rows,
      notes,
    };
  } finally {
    await sender?.close();
    for (const receiver of receivers) await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
