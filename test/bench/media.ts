/**
 * The media backends under load (loopback only): N concurrent relayed G.711
 * calls, each a WebRTC device and a plain RTP peer sending one 20 ms packet
 * every 20 ms both ways through the backend, which runs alone in a child
 * process: werift, then mediasoup (one worker process) in the same run.
 * Measured per step: the backend's CPU (share of one core; for mediasoup the
 * worker's, read from /proc, plus the Node process driving it), one-way
 * latency through it, loss, and the time from the device's offer to the first
 * packet relayed to the RTP peer. The peer, measured the same way in the same
 * run, is a bare UDP forwarder (two sockets per call, no ICE, DTLS, SRTP or
 * rewriting) between two plain RTP peers: the floor any relay pays; latency
 * above it is what the backend adds.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, RtpPacket, SrtpSession } from 'werift';
import {
  type RtpBounds,
  rtpPayloadBounds,
  writeRtpHeader,
} from '../../packages/gateway/src/media/rtp-packet.ts';
import {
  SRTP_AUTH_TAG_BYTES,
  SrtpAesCm128HmacSha1,
} from '../../packages/gateway/src/media/srtp/aes-cm-hmac-sha1.ts';
import { RtpPeer, WeriftDevice } from '../../packages/gateway/src/testing/index.ts';
import { locateWorkerBin } from '../../packages/gateway/test/media/mediasoup-worker.ts';
import { type BenchResult, fmtInt, fmtRatio, repoRoot } from './util.ts';

type Backend = 'werift' | 'mediasoup';

const steps = (variable: string, fallback: string): number[] =>
  (process.env[variable] ?? fallback)
    .split(',')
    .map(Number)
    .filter((calls) => calls > 0);
/** Calls per step and backend; a backend's run stops at its first step that saturates. */
const STEPS: Record<Backend, number[]> = {
  werift: steps('TELEGATE_BENCH_MEDIA_WERIFT_STEPS', '10,25,50,75,100,150'),
  mediasoup: steps('TELEGATE_BENCH_MEDIA_MEDIASOUP_STEPS', '25,50,100,200,300,400'),
};
/** A backend's steps stop once this much time has gone into them (set-up included). */
const BACKEND_BUDGET_MS = Number(process.env.TELEGATE_BENCH_MEDIA_BUDGET_S ?? 240) * 1000;
/** How long a step waits for every call's media to flow before measuring anyway. */
const SETTLE_MS = 15_000;
const WARMUP_MS = 1_000;
const WINDOW_MS = 3_000;
const GRACE_MS = 300;
/** A step saturates when the backend uses this share of one core (mediasoup: its worker's), loses this much, or the test peers run out of CPU. */
const SATURATED_CPU = 0.85;
const SATURATED_LOSS = 0.01;
const PEERS_SATURATED_CPU = 0.9;
const SETUP_BATCH = 10;
const PCMU_ONLY = [
  { payload: 0, name: 'pcmu', rate: 8000 },
  { payload: 126, name: 'telephone-event', rate: 8000 },
];

// ------------------------------------------------------------------ the process under test

function runtimeSubpathsFromSource(): Plugin {
  return {
    name: 'telegate-runtime-subpaths',
    setup(b) {
      b.onResolve({ filter: /^@telegate\/runtime(\/.+)?$/ }, (args) => {
        const sub = /^@telegate\/runtime\/(.+)$/.exec(args.path)?.[1];
        return { path: join(repoRoot, 'packages/runtime/src', sub ?? '', 'index.ts') };
      });
    },
  };
}

async function bundleChild(): Promise<{ script: string; cleanup(): Promise<void> }> {
  const base = join(repoRoot, '.tmp');
  mkdirSync(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'bench-media-'));
  const script = join(dir, 'child.mjs');
  await build({
    entryPoints: [join(repoRoot, 'test/bench/media-relay-child.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [runtimeSubpathsFromSource()],
    logLevel: 'error',
  });
  return { script, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

class RelayProcess {
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  #nextId = 1;
  #ready: (() => void) | undefined;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const message = raw as Record<string, unknown>;
      if (message.ready !== undefined) this.#ready?.();
      const id = message.requestId as number;
      this.#pending.get(id)?.(message);
      this.#pending.delete(id);
    });
  }

  /**
   * `TELEGATE_BENCH_MEDIA_PROFILE=<dir>` writes a V8 CPU profile of the backend's process
   * there (`--cpu-prof`), for chrome://inspect or speedscope.
   */
  static async start(script: string, args: string[]): Promise<RelayProcess> {
    const profile = process.env.TELEGATE_BENCH_MEDIA_PROFILE;
    const child = fork(script, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv:
        profile === undefined || args[0] === 'forward' ? [] : ['--cpu-prof', '--cpu-prof-dir', profile],
    });
    const relay = new RelayProcess(child);
    await new Promise<void>((resolve) => {
      relay.#ready = resolve;
    });
    return relay;
  }

  /** Requests run concurrently in the child; replies carry the request's id. */
  async request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const requestId = this.#nextId++;
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`media bench child did not answer ${String(message.kind)} in 30 s`)),
        30_000,
      );
      this.#pending.set(requestId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send({ ...message, requestId });
    });
    if (answer.ok !== true) throw new Error(`media bench child: ${String(answer.error)}`);
    return answer;
  }

  /** CPU seconds used so far: the Node process's and its mediasoup workers'. */
  async cpu(): Promise<{ node: number; workers: number }> {
    const stats = await this.request({ kind: 'stats' });
    return { node: cpuSeconds(stats.cpu as NodeJS.CpuUsage), workers: stats.workersCpu as number };
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ kind: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ calls and the packet clock

/** One direction of a call: what was sent and received inside the measured window. */
interface Direction {
  sent: number;
  received: number;
}

interface Call {
  /** Sends one stamped packet each way. */
  tick(payload: Buffer): void;
  toSip: Direction;
  toDevice: Direction;
  startedAt: number;
  firstRelayedMs: number | undefined;
  /** Whether media arrived both ways (a call whose DTLS set-up failed never gets there). */
  established(): boolean;
  close(): Promise<void>;
}

let measuring = false;
const latencies: number[] = [];

/** 160 bytes (20 ms of PCMU): a flag for "sent in the measured window", then the send time. */
function stamp(payload: Buffer): void {
  payload[0] = measuring ? 1 : 0;
  payload.writeDoubleBE(performance.now(), 1);
}

function onArrival(direction: Direction, payload: Buffer): void {
  if (payload.length < 9 || payload[0] !== 1) return;
  direction.received++;
  latencies.push(performance.now() - payload.readDoubleBE(1));
}

function newCall(): Pick<Call, 'toSip' | 'toDevice' | 'startedAt' | 'firstRelayedMs'> & {
  heardByDevice: boolean;
} {
  return {
    heardByDevice: false,
    toSip: { sent: 0, received: 0 },
    toDevice: { sent: 0, received: 0 },
    startedAt: performance.now(),
    firstRelayedMs: undefined,
  };
}

/** A WebRTC device and a plain RTP peer, with the backend under test between them. */
async function relayedCall(relay: RelayProcess): Promise<Call> {
  const call = newCall();
  const device = new WeriftDevice({ codecs: PCMU_ONLY });
  device.record = false;
  const sip = await RtpPeer.open();
  sip.record = false;
  sip.onPacket = (_, payload) => {
    call.firstRelayedMs ??= performance.now() - call.startedAt;
    onArrival(call.toSip, payload);
  };
  device.onPacket = (_, payload) => {
    call.heardByDevice = true;
    onArrival(call.toDevice, payload);
  };
  const created = await relay.request({ kind: 'create', offer: await device.createOffer() });
  await device.acceptAnswer(created.webrtcAnswer as string);
  sip.setRemoteFromSdp(created.rtpOffer as string);
  await relay.request({ kind: 'answer', id: created.id, sdp: sip.sdp({ laws: ['pcmu'] }) });
  let ready = false;
  return {
    ...call,
    tick(payload) {
      // The device sends from the start; its packets are dropped until DTLS is up.
      if (!ready) ready = device.pc.connectionState === 'connected';
      if (!ready) return;
      if (payload[0] === 1) call.toSip.sent++;
      device.sendRaw(0, payload);
      if (payload[0] === 1) call.toDevice.sent++;
      sip.sendRtp(0, payload);
    },
    get firstRelayedMs() {
      return call.firstRelayedMs;
    },
    established: () => call.firstRelayedMs !== undefined && call.heardByDevice,
    async close() {
      await device.close();
      await sip.close();
    },
  };
}

async function forwardedCall(relay: RelayProcess): Promise<Call> {
  const call = newCall();
  const sip = await RtpPeer.open();
  const device = await RtpPeer.open();
  for (const peer of [sip, device]) peer.record = false;
  sip.onPacket = (_, payload) => {
    call.firstRelayedMs ??= performance.now() - call.startedAt;
    onArrival(call.toSip, payload);
  };
  device.onPacket = (_, payload) => {
    call.heardByDevice = true;
    onArrival(call.toDevice, payload);
  };
  const ports = await relay.request({ kind: 'forward', a: sip.port, b: device.port });
  sip.setRemoteFromSdp(`c=IN IP4 127.0.0.1\r\nm=audio ${ports.portForA} RTP/AVP 0\r\n`);
  device.setRemoteFromSdp(`c=IN IP4 127.0.0.1\r\nm=audio ${ports.portForB} RTP/AVP 0\r\n`);
  return {
    ...call,
    tick(payload) {
      if (payload[0] === 1) call.toSip.sent++;
      device.sendRtp(0, payload);
      if (payload[0] === 1) call.toDevice.sent++;
      sip.sendRtp(0, payload);
    },
    get firstRelayedMs() {
      return call.firstRelayedMs;
    },
    established: () => call.firstRelayedMs !== undefined && call.heardByDevice,
    async close() {
      await sip.close();
      await device.close();
    },
  };
}

// ------------------------------------------------------------------ one step

interface StepResult {
  calls: number;
  /** Calls with no media either way after the warm-up (their set-up failed). */
  failed: number;
  /** The backend's CPU, as a share of one core: its Node process plus its workers. */
  relayCpu: number;
  /** The mediasoup worker's share of that (0 for werift and the forwarder). */
  workersCpu: number;
  peersCpu: number;
  p50: number;
  p99: number;
  loss: number;
  firstP50: number;
  firstP99: number;
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

const cpuSeconds = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1e6;

async function step(
  relay: RelayProcess,
  count: number,
  make: (relay: RelayProcess) => Promise<Call>,
): Promise<StepResult> {
  const calls: Call[] = [];
  const payload = Buffer.alloc(160, 0xff);
  const clock = setInterval(() => {
    for (const call of calls) {
      stamp(payload);
      call.tick(payload);
    }
  }, 20);
  try {
    for (let started = 0; started < count; started += SETUP_BATCH) {
      const batch = Math.min(SETUP_BATCH, count - started);
      calls.push(...(await Promise.all(Array.from({ length: batch }, () => make(relay)))));
    }
    // DTLS set-ups finish at their own pace on a busy machine: wait for media on every call (bounded).
    const settleBy = performance.now() + SETTLE_MS;
    while (performance.now() < settleBy && !calls.every((call) => call.established())) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    latencies.length = 0;
    const relayBefore = await relay.cpu();
    const peersBefore = process.cpuUsage();
    const startedAt = performance.now();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    measuring = false;
    const wall = (performance.now() - startedAt) / 1000;
    const relayAfter = await relay.cpu();
    const workersCpu = (relayAfter.workers - relayBefore.workers) / wall;
    const relayCpu = (relayAfter.node - relayBefore.node) / wall + workersCpu;
    const peersCpu = cpuSeconds(process.cpuUsage(peersBefore)) / wall;
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
    let sent = 0;
    let received = 0;
    const live = calls.filter((call) => call.established());
    for (const call of live) {
      sent += call.toSip.sent + call.toDevice.sent;
      received += call.toSip.received + call.toDevice.received;
    }
    const first = live.map((c) => c.firstRelayedMs ?? Number.POSITIVE_INFINITY);
    return {
      calls: count,
      failed: count - live.length,
      relayCpu,
      workersCpu,
      peersCpu,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      loss: sent === 0 ? 1 : Math.max(0, 1 - received / sent),
      firstP50: percentile(first, 50),
      firstP99: percentile(first, 99),
    };
  } finally {
    clearInterval(clock);
    await Promise.all(calls.map((call) => call.close()));
    await relay.request({ kind: 'closeAll' });
  }
}

// ------------------------------------------------------------------ SRTP per packet

const SRTP_PACKETS = 20_000;

/**
 * CPU per relayed packet of the two SRTP paths a werift call can take, in this process with no
 * sockets (CPU time, so a busy machine slows it less than it does wall time): werift 0.24.4's own
 * (encrypt from an `RtpHeader`, decrypt, then `RtpPacket.deSerialize`, as its transport does) and
 * the relay's fast path (`SrtpAesCm128HmacSha1` in place, header read with Buffer reads).
 */
function srtpPerPacket(): { werift: number; fast: number } {
  const key = randomBytes(16);
  const salt = randomBytes(14);
  const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };
  const session = new SrtpSession({ keys, profile: ProtectionProfileAes128CmHmacSha1_80 });
  const sender = new SrtpAesCm128HmacSha1(key, salt);
  const receiver = new SrtpAesCm128HmacSha1(key, salt);
  const payload = Buffer.alloc(160, 0xd5);
  const bounds: RtpBounds = { payloadStart: 0, payloadEnd: 0 };
  const measure = (relayOne: (sequence: number) => void): number => {
    for (let i = 0; i < 1_000; i++) relayOne(i); // warm-up: JIT
    const before = process.cpuUsage();
    for (let i = 0; i < SRTP_PACKETS; i++) relayOne((1_000 + i) & 0xffff);
    return (cpuSeconds(process.cpuUsage(before)) / SRTP_PACKETS) * 1e6;
  };
  const werift = measure((sequence) => {
    const header = new RtpHeader({
      payloadType: 0,
      sequenceNumber: sequence,
      timestamp: sequence * 160,
      ssrc: 1,
    });
    const packet = RtpPacket.deSerialize(session.decrypt(session.encrypt(payload, header)));
    if (packet.payload.length !== 160) throw new Error('werift SRTP round trip lost the payload');
  });
  const fast = measure((sequence) => {
    const packet = Buffer.allocUnsafe(12 + 160 + SRTP_AUTH_TAG_BYTES);
    writeRtpHeader(packet, false, 0, sequence, sequence * 160, 1);
    payload.copy(packet, 12);
    const received = receiver.unprotect(Buffer.from(sender.protect(packet, 12 + 160)));
    if (received === undefined || rtpPayloadBounds(received, bounds)?.payloadEnd !== 172)
      throw new Error('fast SRTP round trip lost the payload');
  });
  return { werift, fast };
}

// ------------------------------------------------------------------ the benchmark

const pct = (share: number): string => `${(share * 100).toFixed(0)} %`;
const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '—');
/** Latency the backend adds over the forwarder at the same percentile and call count. */
const added = (relayed: number, floor: number): number => Math.max(0, relayed - floor);

/** What a step's figures say about the backend: why its run stops there, if it does. */
function saturation(backend: Backend, result: StepResult): string | undefined {
  const core = backend === 'mediasoup' ? result.workersCpu : result.relayCpu;
  if (result.failed === result.calls)
    return `Every ${backend} call set-up failed at ${result.calls} calls (no media either way): the test devices' DTLS did not complete, so nothing was measured.`;
  if (core >= SATURATED_CPU)
    return `${backend} saturated ${backend === 'mediasoup' ? 'its worker’s' : 'its'} core at ${result.calls} calls (${pct(core)}).`;
  if (result.loss >= SATURATED_LOSS)
    return `${backend} lost ${(result.loss * 100).toFixed(1)} % of the packets at ${result.calls} calls while using ${pct(core)} of a core: the loss came before the CPU limit.`;
  if (result.peersCpu >= PEERS_SATURATED_CPU)
    return `The test peers (the benchmark's process) ran out of CPU at ${result.calls} ${backend} calls (${pct(result.peersCpu)}); ${backend} itself used ${pct(core)} of a core and did not saturate.`;
  return undefined;
}

interface BackendRun {
  backend: Backend;
  /** Steps below saturation, and the step that saturated (last), if any. */
  results: { relayed: StepResult; floor: StepResult }[];
  saturatedAt: number | undefined;
  stopReason: string | undefined;
}

async function runBackend(
  backend: Backend,
  relay: RelayProcess,
  forward: RelayProcess,
  rows: string[][],
): Promise<BackendRun> {
  const run: BackendRun = { backend, results: [], saturatedAt: undefined, stopReason: undefined };
  const startedAt = performance.now();
  for (const calls of STEPS[backend]) {
    if (performance.now() - startedAt > BACKEND_BUDGET_MS) {
      run.stopReason = `${backend}: steps stopped after ${Math.round(BACKEND_BUDGET_MS / 1000)} s (the time budget of a backend), before ${calls} calls.`;
      break;
    }
    let relayed: StepResult;
    let floor: StepResult;
    try {
      relayed = await step(relay, calls, relayedCall);
      floor = await step(forward, calls, forwardedCall);
    } catch (error) {
      run.stopReason = `${backend} at ${calls} calls: the step did not complete (${error instanceof Error ? error.message : String(error)}).`;
      break;
    }
    run.results.push({ relayed, floor });
    const cpuPerCall = relayed.relayCpu / Math.max(1, calls - relayed.failed);
    console.log(
      `  ${backend} ${calls} calls: ${pct(relayed.relayCpu)} CPU, forwarder ${pct(floor.relayCpu)}, peers ${pct(relayed.peersCpu)}, loss ${(relayed.loss * 100).toFixed(2)} %`,
    );
    rows.push([
      backend,
      String(calls),
      backend === 'mediasoup'
        ? `${pct(relayed.relayCpu)} (worker ${pct(relayed.workersCpu)})`
        : pct(relayed.relayCpu),
      `${(cpuPerCall * 100).toFixed(2)} %`,
      pct(floor.relayCpu),
      `${ms(relayed.p50)} / ${ms(relayed.p99)}`,
      `${ms(added(relayed.p50, floor.p50))} / ${ms(added(relayed.p99, floor.p99))}`,
      `${(relayed.loss * 100).toFixed(2)} %`,
      String(relayed.failed),
      `${ms(relayed.firstP50)} / ${ms(relayed.firstP99)}`,
      pct(relayed.peersCpu),
    ]);
    const reason = saturation(backend, relayed);
    if (reason !== undefined) {
      run.stopReason = reason;
      if ((backend === 'mediasoup' ? relayed.workersCpu : relayed.relayCpu) >= SATURATED_CPU)
        run.saturatedAt = calls;
      break;
    }
  }
  return run;
}

/** Honest verdicts on the goals, from the steps below saturation. */
function verdicts(run: BackendRun, goalPerCore: number, busy: boolean): string[] {
  const caveat = busy ? ' (a busy machine: only a run on an idle one settles it)' : '';
  const below = run.results.filter(({ relayed }) => saturation(run.backend, relayed) === undefined);
  const notes: string[] = [];
  const widest = below.at(-1);
  if (widest === undefined) {
    notes.push(`${run.backend}: no step completed below saturation, so no goal can be judged from this run.`);
    return notes;
  }
  // The CPU per call at the largest step below saturation: the figure that scales.
  const share = run.backend === 'mediasoup' ? widest.relayed.workersCpu : widest.relayed.relayCpu;
  const live = Math.max(1, widest.relayed.calls - widest.relayed.failed);
  const perCore = live / Math.max(share, 1e-6);
  const capacity =
    run.saturatedAt !== undefined
      ? `saturated its core at ${run.saturatedAt} calls`
      : `did not saturate (largest step ${widest.relayed.calls} calls at ${pct(share)} of a core)`;
  const judged =
    run.saturatedAt !== undefined
      ? run.saturatedAt >= goalPerCore
        ? 'met'
        : perCore >= goalPerCore
          ? 'not settled (the CPU per call says met, the saturating step came earlier)'
          : 'missed'
      : perCore >= goalPerCore
        ? 'met by extrapolation from the CPU per call (not driven to saturation here)'
        : 'missed (by the CPU per call)';
  notes.push(
    `${run.backend}: ${capacity}; at ${widest.relayed.calls} calls one call costs ${((share / live) * 100).toFixed(2)} % of a core, about ${Math.round(perCore)} calls per core. Goal ≥ ${goalPerCore} calls per core: ${judged}${caveat}.`,
  );
  const worstAddedP99 = Math.max(...below.map(({ relayed, floor }) => added(relayed.p99, floor.p99)));
  const worstLoss = Math.max(...below.map(({ relayed }) => relayed.loss));
  notes.push(
    `${run.backend} below saturation (${below.map((r) => r.relayed.calls).join(', ')} calls): added one-way latency p99 at most ${ms(worstAddedP99)} (goal < 5 ms: ${worstAddedP99 < 5 ? 'met' : 'missed'}); loss at most ${(worstLoss * 100).toFixed(2)} % (goal 0: ${worstLoss === 0 ? 'met' : 'missed'})${caveat}.`,
  );
  return notes;
}

export async function mediaBench(): Promise<BenchResult> {
  const loadAtStart = loadavg()[0]!;
  const srtp = srtpPerPacket();
  console.log(`  SRTP per packet: werift ${srtp.werift.toFixed(1)} µs, fast path ${srtp.fast.toFixed(1)} µs`);
  const workerBin = locateWorkerBin();
  const { script, cleanup } = await bundleChild();
  const forward = await RelayProcess.start(script, ['forward']);
  const rows: string[][] = [];
  const notes: string[] = [];
  const loads: string[] = [];
  try {
    const plan: [Backend, number, string[] | undefined][] = [
      ['werift', 30, ['werift']],
      ['mediasoup', 300, workerBin === undefined ? undefined : ['mediasoup', workerBin]],
    ];
    for (const [backend, goalPerCore, args] of plan) {
      if (args === undefined) {
        notes.push(
          'mediasoup: not measured, no worker binary (build it with `npm run build:mediasoup-worker`, or set MEDIASOUP_WORKER_BIN).',
        );
        continue;
      }
      const relay = await RelayProcess.start(script, args);
      try {
        const run = await runBackend(backend, relay, forward, rows);
        loads.push(`${loadavg()[0]!.toFixed(1)} after ${backend}`);
        if (run.stopReason !== undefined) notes.push(run.stopReason);
        notes.push(...verdicts(run, goalPerCore, loadAtStart > cpus().length / 2));
      } finally {
        await relay.stop();
      }
    }
  } finally {
    await forward.stop();
    await cleanup();
  }
  const cores = cpus().length;
  notes.push(
    `SRTP per relayed packet (AES_CM_128_HMAC_SHA1_80, 160-byte PCMU payload, encrypt + decrypt + header read, CPU time in one process, ${fmtInt(SRTP_PACKETS)} packets): werift 0.24.4's own path ${srtp.werift.toFixed(1)} µs, the relay's fast path ${srtp.fast.toFixed(1)} µs (${fmtRatio(srtp.werift / srtp.fast)} less). werift builds an AES-CTR cipher and an HMAC per packet and parses each header bit by bit through strings, twice; the fast path keeps one AES-ECB cipher per session for the keystream (RFC 3711 §4.1.1) and reads headers with Buffer reads. The werift backend uses it when DTLS negotiates that profile (it asks for it first; every WebRTC endpoint supports it).`,
    `1-minute load average: ${loadAtStart.toFixed(1)} when the run started, ${loads.join(', ')}, on ${cores} cores. Everything here (the backend, its worker, the test peers, the forwarder) shares those cores with whatever else runs.`,
    ...(loadAtStart > cores / 2
      ? [
          'The machine was busy with other work during this run: each process got only its turn on a core, so CPU shares are capped by the scheduler and latency includes waiting for a core. Saturation points and latency goals are only meaningful from a run on an otherwise idle machine.',
        ]
      : []),
    'CPU: the backend process’s (user + system) over the measured window, as a share of one core; for mediasoup the worker (a separate process, from /proc/<pid>/stat) plus the Node process driving it. mediasoup runs one worker here, so its saturation is that worker’s core; in production one worker runs per core. CPU per call and calls per core count the calls whose media flowed (failed set-ups left out): calls per core is those calls of the largest step below saturation divided by its CPU share.',
    'The test devices are werift peer connections in the benchmark’s process (DTLS once, then SRTP on the same fast path as the werift backend’s relay) and the SIP side plain RTP sockets; their CPU is the "test peers" column. When it nears a core the devices, not the backend, limit the step.',
    'Failed set-ups: calls with no media either way 15 s after the last set-up, left out of loss and latency. The measured window starts once every call has media (or those 15 s are over) and 1 s more has passed.',
    'Latency is one-way, packet sent → packet received, both ends in the benchmark process, so it includes the test devices’ own SRTP work. Added latency is the backend’s minus the forwarder’s at the same percentile and call count. Loss counts packets sent in the measured window and not received within 300 ms after it.',
    'First packet: from the device starting its offer to the first packet the RTP peer receives (calls are set up 10 at a time, so it includes queueing behind the other set-ups).',
  );
  return {
    id: 'media',
    title: 'Media relay',
    description:
      'Concurrent G.711 calls relayed by each media backend (WebRTC device ↔ backend ↔ plain RTP peer, 50 packets/s each way per call, loopback): werift, then mediasoup with one worker, in the same run, each against a bare UDP forwarder between two plain RTP peers at the same call count. Goals: mediasoup ≥ 300 concurrent calls per core, werift ≥ 30, added one-way latency p99 < 5 ms and no loss below saturation.',
    columns: [
      'backend',
      'calls',
      'backend CPU',
      'CPU per call',
      'forwarder CPU',
      'latency p50 / p99',
      'added latency p50 / p99',
      'loss',
      'failed set-ups',
      'first packet p50 / p99',
      'test peers CPU',
    ],
    rows,
    notes,
  };
}
