/**
 * SIP call setup through the reference gateway, against sipp on 127.0.0.1:
 *
 * (floor) sipp UAC → sipp UAS directly, its built-in call (INVITE, 180, 200,
 *         ACK, BYE) at the target rate: what the machine does with no gateway;
 * (out)   createSession over HTTP → the gateway's INVITE → sipp UAS answers →
 *         ACK → `session-status` Connected delivered to an HTTPS webhook →
 *         DELETE → BYE, at the target rate; post-dial delay is the time from
 *         the API request on the wire to the INVITE on the wire (a tcpdump
 *         capture of the loopback interface, post-dial.ts);
 * (in)    sipp UAC calls a registered number at the target rate → the gateway
 *         delivers `session-invitation` → the app declines it (DELETE) → 603.
 *
 * The gateway runs in a process of its own, as `npm start` runs it
 * (sip-gateway-child.ts, bundled from the sources, with the gateway's Node
 * flags); the application (the HTTP driver and the webhook receiver,
 * sip-app-child.ts) in another, and sipp in its own. CPU is read from each
 * process's counters.
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLOW_WEBRTC_OFFER } from '../../packages/gateway/src/testing/index.ts';
import { createTestPki } from '../conformance/support/pki.ts';
import { freeUdpPort, haveSipp, SCENARIOS } from '../sip/support/sipp.ts';
import { bundleChild } from './gateway.ts';
import { IpcProcess } from './ipc.ts';
import { LoopbackCapture, tcpdumpMissing } from './loopback-capture.ts';
import { readTcpSegments, readUdpDatagrams } from './pcap.ts';
import { postDialDelays } from './post-dial.ts';
import type { AppRequest, BenchCaller, OutboundReport } from './sip-app-child.ts';
import type { GatewayCalls, GatewayReady, GatewayRequest, GatewayWatch } from './sip-gateway-child.ts';
import {
  type BenchResult,
  fmtInt,
  fmtMs,
  fmtRatio,
  GATEWAY_NODE_FLAGS,
  percentile,
  repoRoot,
  sinkSubscription,
} from './util.ts';

const RATE = Number(process.env.TELEGATE_BENCH_SIP_RATE ?? 200);
const SECONDS = Number(process.env.TELEGATE_BENCH_SIP_SECONDS ?? 60);
const INBOUND_SECONDS = Math.min(SECONDS, 30);
/**
 * A run paced at exactly the target rate measures a little under it: its time includes its start and the
 * last call's set-up (outbound: first request to last Connected; inbound: sipp's whole run, the last
 * hang-up included). 2% is that margin, not a lower goal; every offered call must still succeed.
 */
const RATE_MARGIN = 0.98;
/**
 * Before the measured outbound run, the same load for this long: a freshly started process runs its
 * code unoptimized at first (V8 compiles the hot paths as they warm up), so its first seconds are
 * reported on a row of their own rather than mixed into the steady state the goal is about.
 */
const WARMUP_SECONDS = Number(process.env.TELEGATE_BENCH_SIP_WARMUP_SECONDS ?? 10);
const CALLERS = 100;
const LOAD_GENERATOR_NICE = 10;
/** The gateway's default `maxActiveSessionsPerNumber`. */
const MAX_CALLS_PER_NUMBER = 10;
const SINK_TOKEN = 'bench-sink-token';
const STATUS = 'org.camaraproject.webrtc-events.v0.session-status';
const INVITATION = 'org.camaraproject.webrtc-events.v0.session-invitation';

/**
 * Every sipp (floor and gateway runs alike) asks for 4 MiB socket buffers, as the gateway's UDP
 * transport does: sipp's default (64 kB) loses datagrams whenever the shared machine pauses it.
 */
const SIPP_BUFFERS = ['-buff_size', String(4 * 1024 * 1024)];

interface SippRun {
  calls: number;
  successful: number;
  failed: number;
  seconds: number;
  cpuSeconds: number;
}

function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return 0;
  }
}

/** Runs sipp to completion; counts calls from its statistics file. */
async function runSipp(args: string[], calls: number): Promise<SippRun> {
  const dir = mkdtempSync(join(tmpdir(), 'telegate-sipp-bench-'));
  const stats = join(dir, 'stats.csv');
  const started = performance.now();
  const child = spawn(
    'sipp',
    [
      ...args,
      '-m',
      String(calls),
      '-nostdin',
      ...SIPP_BUFFERS,
      '-trace_stat',
      '-stf',
      stats,
      '-fd',
      '1',
      '-timeout',
      `${SECONDS + 60}s`,
    ],
    {
      stdio: 'ignore',
    },
  );
  yieldCpu(child.pid);
  let cpu = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) cpu = Math.max(cpu, cpuOf(child.pid));
  }, 200);
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  let successful = 0;
  let failed = 0;
  try {
    const lines = readFileSync(stats, 'utf8').trim().split('\n');
    const header = lines[0]!.split(';');
    const last = lines.at(-1)!.split(';');
    successful = Number(last[header.indexOf('SuccessfulCall(C)')]);
    failed = Number(last[header.indexOf('FailedCall(C)')]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  return { calls, successful, failed, seconds, cpuSeconds: cpu };
}

function startSippServer(args: string[]): { pid: number | undefined; stop(): Promise<number> } {
  const child = spawn('sipp', [...args, '-nostdin', ...SIPP_BUFFERS], { stdio: 'ignore' });
  yieldCpu(child.pid);
  let cpu = 0;
  const sampler = setInterval(() => {
    if (child.pid !== undefined) cpu = Math.max(cpu, cpuOf(child.pid));
  }, 200);
  return {
    pid: child.pid,
    async stop() {
      clearInterval(sampler);
      if (child.pid !== undefined) cpu = Math.max(cpu, cpuOf(child.pid));
      child.kill('SIGKILL');
      await new Promise<void>((resolve) => child.on('exit', () => resolve()));
      return cpu;
    },
  };
}

/**
 * The load generators (sipp and the application process) run at a lower priority (nice 10) than the
 * gateway, so on a shared 2-core machine the gateway gets a core first, as it would on cores of its own;
 * they still get whatever the gateway leaves.
 */
function yieldCpu(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, LOAD_GENERATOR_NICE);
  } catch {
    // Not allowed to: they then compete with the gateway on equal terms.
  }
}

const gcSummary = (pauses: number[]) =>
  pauses.length === 0
    ? 'none'
    : `${fmtInt(pauses.length)}, longest ${fmtMs(Math.max(...pauses))}, ${fmtMs(pauses.reduce((a, b) => a + b, 0))} in all`;

/**
 * With `TELEGATE_BENCH_SIP_HEAP_SNAPSHOT=<prefix>`, heap snapshots of the gateway after the full
 * collections before and after the outbound run (`<prefix>.before.heapsnapshot`, `<prefix>.after…`):
 * compared in Chrome DevTools, they show what each call leaves behind.
 */
const HEAP_SNAPSHOT = process.env.TELEGATE_BENCH_SIP_HEAP_SNAPSHOT || undefined;

/**
 * With `TELEGATE_BENCH_SIP_NODE_FLAGS="<flags>"`, Node flags for the gateway beside `npm start`'s (later
 * ones win), e.g. `--trace-gc-nvp` to have V8 print each collection's phases (the gateway's standard
 * output is this process's), or another value of one of `npm start`'s to compare.
 */
const EXTRA_GATEWAY_FLAGS = (process.env.TELEGATE_BENCH_SIP_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/**
 * A capture of the outbound run's createSession requests (their first segments) and INVITEs on the
 * loopback interface, which times post-dial delay on the wire. Without tcpdump or the right to capture,
 * `finish` says why instead.
 */
async function startWireCapture(apiPort: number, sipPeerPort: number) {
  const absent = tcpdumpMissing() ?? (process.getuid?.() === 0 ? undefined : 'not root');
  const dir = mkdtempSync(join(tmpdir(), 'telegate-sip-wire-'));
  const file = join(dir, 'post-dial.pcap');
  let capture: LoopbackCapture | undefined;
  let why = absent;
  if (absent === undefined) {
    try {
      capture = await LoopbackCapture.start({
        file,
        // Payloads starting "POST" to the API and "INVI" to the SIP peer: two packets per call.
        filter: `(tcp dst port ${apiPort} and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x504f5354) or (udp dst port ${sipPeerPort} and udp[8:4] = 0x494e5649)`,
        maxPackets: 4 * RATE * SECONDS + 10_000,
        snapshotBytes: 2_048,
      });
    } catch (error) {
      why = (error as Error).message;
    }
  }
  const discard = async () => {
    const running = capture;
    capture = undefined;
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    async finish(callIdOf: (correlator: string) => string | undefined) {
      try {
        if (capture === undefined) return { why: why ?? 'no capture' };
        const { dropped } = await capture.stop();
        capture = undefined;
        const bytes = readFileSync(file);
        const result = postDialDelays({
          segments: readTcpSegments(bytes),
          datagrams: readUdpDatagrams(bytes),
          apiPort,
          sipPeerPort,
          callIdOf,
        });
        return { delays: result.delaysMs, callIds: result.callIds, requests: result.requests, dropped };
      } finally {
        await discard();
      }
    },
    /** Stops a capture still running (the run failed before `finish`) and removes its file; idempotent. */
    discard,
  };
}

type WireCapture = Awaited<ReturnType<typeof startWireCapture>>;

/** The post-dial delay goal's bound: a call slower than this counts as slow. */
const POST_DIAL_GOAL_MS = 10;

/**
 * The calls slower than the goal, and the gateway's GC pauses among them: for each, the time from its
 * request's arrival (its INVITE's time in the gateway less its delay on the wire) to its INVITE, and
 * the pauses that overlap it.
 */
function slowCalls(
  delays: number[],
  callIds: string[],
  inviteAt: Map<string, number>,
  timeline: [number, number, number][],
) {
  let slow = 0;
  let withGc = 0;
  let withMajor = 0;
  let gcShare = 0;
  delays.forEach((delay, i) => {
    const end = inviteAt.get(callIds[i]!);
    if (delay <= POST_DIAL_GOAL_MS || end === undefined) return;
    slow++;
    const start = end - delay;
    let paused = 0;
    let major = false;
    for (const [at, duration, isMajor] of timeline) {
      const overlap = Math.min(end, at + duration) - Math.max(start, at);
      if (overlap <= 0) continue;
      paused += overlap;
      major ||= isMajor === 1;
    }
    if (paused > 0) withGc++;
    if (major) withMajor++;
    gcShare += paused / delay;
  });
  return { slow, withGc, withMajor, gcShare: slow === 0 ? 0 : gcShare / slow };
}

const summary = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([key, n]) => `${fmtInt(n)} × ${key}`)
    .join(', ');

export async function sipBench(): Promise<BenchResult> {
  const base: BenchResult = {
    id: 'sip',
    title: 'SIP call setup',
    description: `Calls set up through the gateway's embedded SIP stack against sipp on 127.0.0.1, ${RATE} calls/s offered for ${SECONDS} s (inbound ${INBOUND_SECONDS} s). The floor is sipp calling sipp directly at the same rate; the gateway rows run the whole API path: createSession over HTTP, INVITE, 200, ACK, \`session-status\` Connected delivered to an HTTPS webhook, DELETE and BYE (outbound), or INVITE, \`session-invitation\` delivered, DELETE and 603 (inbound). Post-dial delay is from the API request to the INVITE on the wire.${WARMUP_SECONDS > 0 ? ` The outbound run follows ${WARMUP_SECONDS} s of the same load on the freshly started gateway (the warm-up row: V8 runs code unoptimized until it has seen it run, and the heap grows to its working size).` : ''}`,
    columns: [
      'run',
      'calls offered',
      'set up',
      'failed',
      'calls/s',
      'vs floor',
      'post-dial p50',
      'post-dial p99',
      'CPU per call',
    ],
    rows: [],
    notes: [],
  };
  const loadAtStart = loadavg()[0]!;
  if (!haveSipp()) {
    base.notes.push('skipped: sipp is not installed (Debian package sip-tester).');
    return base;
  }

  // ---------------------------------------------------------------- floor: sipp ↔ sipp
  const floorPort = await freeUdpPort();
  const floorUas = startSippServer(['-sn', 'uas', '-i', '127.0.0.1', '-p', String(floorPort)]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const floor = await runSipp(
    [
      '-sn',
      'uac',
      '-i',
      '127.0.0.1',
      '-p',
      String(await freeUdpPort()),
      '-r',
      String(RATE),
      '-d',
      '0',
      `127.0.0.1:${floorPort}`,
    ],
    RATE * SECONDS,
  );
  const floorUasCpu = await floorUas.stop();
  const floorRate = floor.successful / floor.seconds;
  base.rows.push([
    'floor: sipp UAC → sipp UAS',
    fmtInt(floor.calls),
    fmtInt(floor.successful),
    fmtInt(floor.failed),
    fmtInt(floorRate),
    fmtRatio(1),
    '–',
    '–',
    `${(((floor.cpuSeconds + floorUasCpu) / Math.max(1, floor.successful)) * 1e6).toFixed(0)} µs (both sipps)`,
  ]);

  // ---------------------------------------------------------------- gateway set-up
  const pki = await createTestPki();
  const app = IpcProcess.fork<AppRequest>(
    'SIP bench application',
    join(repoRoot, 'test/bench/sip-app-child.ts'),
    {
      execArgv: ['--import', 'tsx'],
      quiet: true,
      exitRequest: { kind: 'exit' },
    },
  );
  yieldCpu(app.child.pid);
  const uasPort = await freeUdpPort();
  const bundle = await bundleChild('test/bench/sip-gateway-child.ts');
  const config = {
    sinkAllowlist: ['127.0.0.1'],
    sinkCaFile: pki.caFile,
    logLevel: 'error',
    validateResponses: false,
    maxRegistrationsPerUser: 0,
    rateLimitPerToken: 0,
    sipNetwork: 'external',
    sipListen: ['udp:127.0.0.1:0'],
    sipOutboundProxy: `sip:127.0.0.1:${uasPort}`,
    sipTrustedPeers: ['127.0.0.1'],
    // Signalling only: the media backend's own cost is `npm run bench -- media`.
    mediaBackend: 'loopback',
  };
  const gw = IpcProcess.fork<GatewayRequest>('SIP bench gateway', bundle.script, {
    execArgv: [...GATEWAY_NODE_FLAGS, ...EXTRA_GATEWAY_FLAGS],
    env: { ...process.env, NODE_ENV: 'development', TELEGATE_BENCH_CONFIG: JSON.stringify(config) },
    quiet: false,
    exitRequest: { kind: 'close' },
  });
  let wire: WireCapture | undefined;

  try {
    const ready = (await gw.ready) as unknown as GatewayReady;
    const origin = `http://127.0.0.1:${ready.port}`;
    const { sink } = await app.request<{ sink: string }>({
      kind: 'receiver',
      key: pki.key,
      cert: pki.cert,
      sinkToken: SINK_TOKEN,
    });
    const post = async (path: string, token: string, body: unknown) => {
      const response = await fetch(`${origin}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 201)
        throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    };
    const callers: BenchCaller[] = [];
    for (let i = 0; i < CALLERS; i++) {
      const phone = `+8180${String(10_000_000 + i)}`;
      const { token } = await gw.request<{ token: string }>({ kind: 'token', phone });
      const deviceId = randomUUID();
      const reg = await post('/webrtc-registration/vwip/sessions', token, { deviceId });
      const sub = await post(
        '/webrtc-events/vwip/subscriptions',
        token,
        sinkSubscription(sink, SINK_TOKEN, [STATUS, INVITATION], deviceId),
      );
      callers.push({
        phone,
        token,
        registrationId: reg.registrationId as string,
        subscriptionId: sub.id as string,
      });
    }
    await app.request({ kind: 'callers', origin, callers });

    // ---------------------------------------------------------------- outbound
    const uas = startSippServer(['-sn', 'uas', '-i', '127.0.0.1', '-p', String(uasPort)]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const apiPort = ready.port;
    /** The gateway's CPU time (µs, user and system) since `since`, or in all. */
    const gatewayCpu = async (since: NodeJS.CpuUsage = { user: 0, system: 0 }) => {
      const now = await gw.request<NodeJS.CpuUsage>({ kind: 'cpu' });
      return { user: now.user - since.user, system: now.system - since.system };
    };
    const outboundRun = (seconds: number) =>
      app.request<OutboundReport>({
        kind: 'outbound',
        rate: RATE,
        seconds,
        receiverAddress: 'tel:+819000000002',
        offer: FLOW_WEBRTC_OFFER,
      });
    /** Post-dial delays of a run: on the wire when captured, else as the application saw them. */
    const postDial = async (out: OutboundReport, capture: WireCapture) => {
      const calls = await gw.request<GatewayCalls>({ kind: 'calls' });
      const callIdOf = new Map(calls.created);
      const inviteAt = new Map(calls.invites);
      // The application's view: from handing the request to its HTTP client, its own waits for a core included.
      const appDelays: number[] = [];
      const callIdByCorrelator = new Map<string, string>();
      for (const [mediaSessionId, t0, correlator] of out.requestAt) {
        const callId = callIdOf.get(mediaSessionId);
        if (callId !== undefined) callIdByCorrelator.set(correlator, callId);
        const at = callId === undefined ? undefined : inviteAt.get(callId);
        if (at !== undefined) appDelays.push(at - t0);
      }
      const onWire = await capture.finish((correlator) => callIdByCorrelator.get(correlator));
      return { appDelays, onWire, inviteAt, delays: onWire.delays ?? appDelays };
    };

    if (WARMUP_SECONDS > 0) {
      wire = await startWireCapture(apiPort, uasPort);
      const cpuWarm = await gatewayCpu();
      const warm = await outboundRun(WARMUP_SECONDS);
      const cpuWarmUsed = await gatewayCpu(cpuWarm);
      const { delays } = await postDial(warm, wire);
      wire = undefined;
      const warmRate = warm.connected / warm.elapsed;
      base.rows.push([
        `gateway outbound, its first ${WARMUP_SECONDS} s after start (warm-up, apart from the run below)`,
        fmtInt(warm.offered),
        fmtInt(warm.connected),
        fmtInt(warm.offered - warm.connected),
        fmtInt(warmRate),
        fmtRatio(warmRate / floorRate),
        fmtMs(percentile(delays, 50)),
        fmtMs(percentile(delays, 99)),
        `${((cpuWarmUsed.user + cpuWarmUsed.system) / Math.max(1, warm.connected)).toFixed(0)} µs (gateway)`,
      ]);
    }

    wire = await startWireCapture(apiPort, uasPort);
    const heapBefore = await gw.request<{ heapUsed: number }>({
      kind: 'heap',
      ...(HEAP_SNAPSHOT ? { snapshot: `${HEAP_SNAPSHOT}.before.heapsnapshot` } : {}),
    });
    // The watch covers the run only, not the full collections before and after it.
    await gw.request({ kind: 'watch' });
    const cpuBefore = await gatewayCpu();
    const out = await outboundRun(SECONDS);
    const cpu = await gatewayCpu(cpuBefore);
    const watched = await gw.request<GatewayWatch>({ kind: 'unwatch' });
    const { gc: gcPauses, stalls: stalled, loopDelayMs: loopDelay } = watched;
    // Every call of the run is still within the session retention (60 s): their records, and what is left
    // of the SIP dialogs and transactions of the last 32 s (RFC 3261 timers), are what the heap holds.
    const heapAfter = await gw.request<{ heapUsed: number }>({
      kind: 'heap',
      ...(HEAP_SNAPSHOT ? { snapshot: `${HEAP_SNAPSHOT}.after.heapsnapshot` } : {}),
    });
    const heapHeld = heapAfter.heapUsed - heapBefore.heapUsed;
    const uasCpu = await uas.stop();
    const { appDelays, onWire, inviteAt, delays } = await postDial(out, wire);
    wire = undefined;
    const outRate = out.connected / out.elapsed;
    const failed = out.offered - out.connected;
    const p99 = percentile(delays, 99);
    base.rows.push([
      'gateway outbound: API → INVITE → 200 → Connected event → DELETE → BYE',
      fmtInt(out.offered),
      fmtInt(out.connected),
      fmtInt(failed),
      fmtInt(outRate),
      fmtRatio(outRate / floorRate),
      fmtMs(percentile(delays, 50)),
      fmtMs(p99),
      `${((cpu.user + cpu.system) / Math.max(1, out.connected)).toFixed(0)} µs (gateway) + ${(out.cpuMicros / Math.max(1, out.connected)).toFixed(0)} µs (application) + ${((uasCpu / Math.max(1, out.connected)) * 1e6).toFixed(0)} µs (sipp)`,
    ]);
    base.notes.push(
      `Outbound goal: ≥ 200 call setups/s for 60 s with 0 failed calls and post-dial p99 < 10 ms${
        WARMUP_SECONDS > 0 ? `, judged on the run after the warm-up` : ''
      }: ${outRate >= 200 * RATE_MARGIN && failed === 0 && p99 < POST_DIAL_GOAL_MS ? 'met' : 'missed'} (${outRate.toFixed(1)} calls/s from the first request to the last Connected event, ${fmtInt(failed)} failed, p99 ${fmtMs(p99)}).`,
      `Outbound createSession answers: ${summary(out.answers)}` +
        ((out.answers['429'] ?? 0) > 0
          ? ` (429: the caller's number already had ${MAX_CALLS_PER_NUMBER} calls in progress, the gateway's per-number limit; calls pile up once the gateway falls behind the offered rate)`
          : '') +
        (Object.keys(out.notConnected).length === 0
          ? '; every created session connected.'
          : `; created sessions not connected within 20 s of the last request, by last status event: ${summary(out.notConnected)}.`),
      `Outbound gateway CPU per call set up: ${(cpu.user / Math.max(1, out.connected)).toFixed(0)} µs user + ${(cpu.system / Math.max(1, out.connected)).toFixed(0)} µs system (the kernel's share: loopback TCP, TLS records and UDP sends); load average (1 min) ${loadavg()[0]!.toFixed(1)} at the end of the run, on ${cpus().length} cores.`,
      `Outbound, gateway heap after a full GC at the end of the run: ${(heapHeld / 1e6).toFixed(1)} MB more than before it (${(heapHeld / Math.max(1, out.connected) / 1024).toFixed(1)} KiB per call: the ended sessions' records, kept for the session retention of 60 s, and for 32 s what answers SIP retransmissions: each ended dialog's identifiers and ACK, each finished transaction's final response as sent); its size sets how long each major GC pause lasts. The V8 heap took at most ${(watched.heapPeakBytes / 1e6).toFixed(0)} MB during the run (its total size, sampled every 100 ms).`,
      onWire.delays === undefined
        ? `Post-dial delay is read in the application, from handing createSession to its HTTP client to the gateway writing the INVITE (the loopback capture that times both on the wire was not possible: ${onWire.why}), so it includes the application's own waits for a core.`
        : `Post-dial delay is read on the wire (a tcpdump capture of the loopback interface, kernel time stamps): from the createSession request's first segment reaching the gateway's port to its call's first INVITE leaving it, for ${fmtInt(onWire.delays.length)} of ${fmtInt(onWire.requests)} requests (${fmtInt(onWire.dropped)} packets dropped by the capture). Read in the application instead, from handing the request to its HTTP client (its own waits for a core included), it is p50 ${fmtMs(percentile(appDelays, 50))}, p99 ${fmtMs(percentile(appDelays, 99))}.`,
      `Outbound, the gateway's main thread (API, SIP, call control) was busy ${(watched.utilization * 100).toFixed(0)} % of the run (event-loop utilization; webhook HTTP and TLS run on a thread of their own). Its event-loop delay p50 ${fmtMs(loopDelay.p50)}, p99 ${fmtMs(loopDelay.p99)}, max ${fmtMs(loopDelay.max)}; stalls over ${stalled.thresholdMs} ms: ${fmtInt(stalled.count)}, longest ${fmtMs(stalled.longestMs)}, ${fmtMs(stalled.ms)} in all, of which ${fmtMs(stalled.onCpuMs)} on a core (callbacks back to back: what piled up during a pause is then run in one go) and ${fmtMs(stalled.waitingMs)} waiting for one; its GC pauses: major (mark-compact) ${gcSummary(gcPauses.major)}, others (scavenges, incremental marking steps, weak callbacks) ${gcSummary(gcPauses.minor)}; INVITEs retransmitted (Timer A: no answer within T1 = 500 ms, or the answer not read yet): ${fmtInt(watched.invitesResent)}.`,
    );
    if (onWire.delays !== undefined) {
      const slow = slowCalls(onWire.delays, onWire.callIds, inviteAt, gcPauses.timeline);
      base.notes.push(
        `Of the ${fmtInt(slow.slow)} calls whose INVITE left over ${POST_DIAL_GOAL_MS} ms after their request arrived, ${fmtInt(slow.withGc)} had a garbage-collection pause of the gateway in that time (${fmtInt(slow.withMajor)} a major one); pauses took ${(slow.gcShare * 100).toFixed(0)} % of their delay on average, the rest being work queued on the event loop and waits for a core.`,
      );
    }

    // ---------------------------------------------------------------- inbound
    const target = ready.sipListening[0]!.replace(/^udp:/, '');
    const before = (await app.request<{ count: number }>({ kind: 'invitations' })).count;
    const cpuIn = await gatewayCpu();
    // Every caller's number in turn (sipp's injection file), so no number hits its dialog limit.
    const dir = mkdtempSync(join(tmpdir(), 'telegate-sipp-inbound-'));
    const scenario = join(dir, 'inbound.xml');
    writeFileSync(
      scenario,
      readFileSync(join(SCENARIOS, 'uac-inbound-decline.xml'), 'utf8').replaceAll('[service]', '[field0]'),
    );
    writeFileSync(join(dir, 'numbers.csv'), `SEQUENTIAL\n${callers.map((c) => `${c.phone};`).join('\n')}\n`);
    const inbound = await runSipp(
      [
        '-sf',
        scenario,
        '-inf',
        join(dir, 'numbers.csv'),
        '-i',
        '127.0.0.1',
        '-p',
        String(await freeUdpPort()),
        '-r',
        String(RATE),
        target,
      ],
      RATE * INBOUND_SECONDS,
    );
    rmSync(dir, { recursive: true, force: true });
    await app.request({ kind: 'settle' });
    const cpuInUsed = await gatewayCpu(cpuIn);
    const delivered = (await app.request<{ count: number }>({ kind: 'invitations' })).count - before;
    const inRate = inbound.successful / inbound.seconds;
    base.rows.push([
      'gateway inbound: INVITE → invitation event → DELETE → 603',
      fmtInt(inbound.calls),
      fmtInt(inbound.successful),
      fmtInt(inbound.failed),
      fmtInt(inRate),
      fmtRatio(inRate / floorRate),
      '–',
      '–',
      `${((cpuInUsed.user + cpuInUsed.system) / Math.max(1, inbound.successful)).toFixed(0)} µs (gateway)`,
    ]);
    base.notes.push(
      `Inbound goal: 200 calls/s with 0 lost invitations: ${inRate >= 200 * RATE_MARGIN && inbound.successful === inbound.calls && delivered === inbound.calls ? 'met' : 'missed'} (${inRate.toFixed(1)} calls/s over sipp's whole run, start and last hang-up included; ${fmtInt(inbound.calls - delivered)} invitations not delivered).`,
    );
  } finally {
    await wire?.discard();
    await app.stop();
    await gw.stop();
    await bundle.cleanup();
    await pki.cleanup();
  }
  base.notes.push(
    `The application (the HTTP driver placing calls and the HTTPS webhook receiver reacting to events with DELETE) runs in its own Node process, so the gateway row is the gateway process alone. The driver keeps up to 64 keep-alive connections to the gateway; after a stall of its own it sends the overdue calls spaced, at most two per tick of about 2 ms (about 800/s), not at once: independent callers do not arrive together. The load generators (sipp and the application process) run at nice ${LOAD_GENERATOR_NICE}, so the gateway gets a core first, as it would on cores of its own.`,
    'Media is not set up (`MEDIA_BACKEND=loopback`: SDP only), so the rows measure signalling; relaying media is measured by `npm run bench -- media`.',
    `The gateway runs as \`npm start\` runs it: in a process of its own (bundled from the sources), with its Node flags (\`${[...GATEWAY_NODE_FLAGS, ...EXTRA_GATEWAY_FLAGS].join(' ')}\`${EXTRA_GATEWAY_FLAGS.length > 0 ? `, the last ${EXTRA_GATEWAY_FLAGS.length} from TELEGATE_BENCH_SIP_NODE_FLAGS` : ''}; the README says what they change). Its heap holds the gateway alone, so its garbage collections are the gateway's.`,
  );
  const loadAtEnd = loadavg()[0]!;
  const cores = cpus().length;
  base.notes.push(
    `Machine load average (1 min) ${loadAtStart.toFixed(1)} at the start and ${loadAtEnd.toFixed(1)} at the end, on ${cores} cores` +
      (Math.max(loadAtStart, loadAtEnd) > cores
        ? ': above the core count, so other work shared the CPU. Each process got a fraction of a core and waited for it (see the event-loop delay): the rates and the post-dial delays say more about that than about the gateway; the CPU per call (time actually spent) moves less.'
        : '.'),
  );
  return base;
}
