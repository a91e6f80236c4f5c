/**
 * The werift media backend under load (loopback only): N concurrent relayed
 * G.711 calls, each a werift WebRTC device and a plain RTP peer sending one
 * 20 ms packet every 20 ms both ways through the backend, which runs alone in
 * a child process. Measured per step: the backend's CPU (share of one core),
 * one-way latency through it (p50/p99, the test peers' own SRTP work
 * included), loss, and the time from the device's offer to the first packet
 * relayed to the RTP peer. The peer, measured the same way in the same run, is
 * a bare UDP forwarder (two sockets per call, no ICE, DTLS, SRTP or
 * rewriting) between two plain RTP peers: the floor any relay pays.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { RtpPeer, WeriftDevice } from '../../packages/gateway/src/testing/index.ts';
import { type BenchResult, fmtRatio, repoRoot } from './util.ts';

/** Calls per step; the run stops at the first step that saturates. */
const STEPS = (process.env.TELEGATE_BENCH_MEDIA_STEPS ?? '10,25,50,100').split(',').map(Number);
const WARMUP_MS = 1_000;
const WINDOW_MS = 3_000;
const GRACE_MS = 300;
/** A step saturates when the backend uses this share of one core, loses this much, or the test peers run out of CPU. */
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

  static async start(script: string, mode: 'werift' | 'forward'): Promise<RelayProcess> {
    const child = fork(script, [mode], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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

  async cpu(): Promise<NodeJS.CpuUsage> {
    return (await this.request({ kind: 'stats' })).cpu as NodeJS.CpuUsage;
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

async function weriftCall(relay: RelayProcess): Promise<Call> {
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
  relayCpu: number;
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
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    latencies.length = 0;
    const relayBefore = await relay.cpu();
    const peersBefore = process.cpuUsage();
    const startedAt = performance.now();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    measuring = false;
    const wall = (performance.now() - startedAt) / 1000;
    const relayCpu = (cpuSeconds(await relay.cpu()) - cpuSeconds(relayBefore)) / wall;
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

// ------------------------------------------------------------------ the benchmark

const pct = (share: number): string => `${(share * 100).toFixed(0)} %`;
const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '—');

export async function mediaBench(): Promise<BenchResult> {
  const loadAtStart = loadavg()[0]!;
  const { script, cleanup } = await bundleChild();
  const werift = await RelayProcess.start(script, 'werift');
  const forward = await RelayProcess.start(script, 'forward');
  const rows: string[][] = [];
  const notes: string[] = [];
  let last: StepResult | undefined;
  let saturated = false;
  try {
    for (const calls of STEPS) {
      const relayed = await step(werift, calls, weriftCall);
      const floor = await step(forward, calls, forwardedCall);
      last = relayed;
      console.log(`  ${calls} calls: werift ${pct(relayed.relayCpu)} CPU, forwarder ${pct(floor.relayCpu)}`);
      rows.push([
        String(calls),
        pct(relayed.relayCpu),
        pct(floor.relayCpu),
        fmtRatio(relayed.relayCpu / Math.max(floor.relayCpu, 1e-6)),
        `${ms(relayed.p50)} / ${ms(relayed.p99)}`,
        `${ms(floor.p50)} / ${ms(floor.p99)}`,
        `${(relayed.loss * 100).toFixed(2)} %`,
        String(relayed.failed),
        `${ms(relayed.firstP50)} / ${ms(relayed.firstP99)}`,
        pct(relayed.peersCpu),
      ]);
      if (relayed.relayCpu >= SATURATED_CPU) {
        notes.push(`The backend saturated one core at ${calls} calls.`);
        saturated = true;
        break;
      }
      if (relayed.loss >= SATURATED_LOSS) {
        notes.push(`Loss reached ${(relayed.loss * 100).toFixed(1)} % at ${calls} calls.`);
        saturated = true;
        break;
      }
      if (relayed.peersCpu >= PEERS_SATURATED_CPU) {
        notes.push(
          `The test peers (werift devices doing their own SRTP, in the benchmark's process) ran out of CPU at ${calls} calls; the backend itself did not saturate.`,
        );
        saturated = true;
        break;
      }
    }
  } finally {
    await werift.stop();
    await forward.stop();
    await cleanup();
  }
  if (last !== undefined && !saturated) {
    notes.push(
      `No step saturated the backend: at ${last.calls} calls it used ${pct(last.relayCpu)} of one core, with one-way latency p50 ${ms(last.p50)} and p99 ${ms(last.p99)}. On a loaded machine the latency gives out before the CPU share grows.`,
    );
  }
  notes.push(
    `1-minute load average when the run started: ${loadAtStart.toFixed(1)} on ${cpus().length} cores (a shared machine: the absolute figures move with it, the CPU ratio less so).`,
    ...(loadAtStart > cpus().length
      ? [
          'The machine was overloaded (load above its core count): each process got only its turn on a core, so the CPU shares above are capped by the scheduler and understate demand, and the backlog shows up as latency. The saturation point was not measured in this run; run `npm run bench -- media` on an idle machine for it.',
        ]
      : []),
    'Failed set-ups: calls with no media either way after the warm-up, left out of loss and latency. The backend answers `a=setup:passive` (DTLS server); the failures are the test devices, werift 0.24.4 DTLS clients, failing the handshake on a retransmitted HelloVerifyRequest when an event loop lags by more than 500 ms (the Chromium DTLS client does not have this problem).',
    "Latency is one-way, packet sent → packet received, both ends in the benchmark process; for werift it includes the test device's own SRTP work. Loss counts packets sent in the measured window and not received within 300 ms after it.",
    'First packet: from the device starting its offer to the first packet the RTP peer receives (calls are set up 10 at a time, so it includes queueing behind the other set-ups).',
  );
  return {
    id: 'media',
    title: 'Media relay',
    description:
      "Concurrent G.711 calls relayed by the werift media backend (WebRTC device ↔ backend ↔ plain RTP peer, 50 packets/s each way per call, loopback), against a bare UDP forwarder between two plain RTP peers at the same call count. CPU is the relaying process's, as a share of one core.",
    columns: [
      'calls',
      'werift CPU',
      'forwarder CPU',
      'CPU ratio',
      'werift latency p50 / p99',
      'forwarder latency p50 / p99',
      'werift loss',
      'failed set-ups',
      'first packet p50 / p99',
      'test peers CPU',
    ],
    rows,
    notes,
  };
}
