import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
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
import { IpcProcess } from './ipc.ts';
import { LoopbackCapture, tcpdumpMissing } from './loopback-capture.ts';
import { readUdpDatagrams } from './pcap.ts';
import { type DirectionLatency, longestSilenceMs, type RelayFlow, relayLatencies } from './relay-latency.ts';
import { type BenchResult, fmtInt, fmtRatio, GATEWAY_NODE_FLAGS, percentile, repoRoot } from './util.ts';

type Backend = 'werift' | 'werift-threads' | 'mediasoup';
/** Media threads of the `werift-threads` runs: the gateway's default, one per core. */
const MEDIA_THREADS = availableParallelism();
const label = (backend: Backend): string =>
  backend === 'werift-threads' ? `werift, ${MEDIA_THREADS} threads` : backend;
/** The share of its cores a step's backend used: mediasoup its worker's, werift on threads the mean of its threads. */
const coreShare = (backend: Backend, result: { relayCpu: number; workersCpu: number }): number =>
  backend === 'mediasoup'
    ? result.workersCpu
    : backend === 'werift-threads'
      ? result.relayCpu / MEDIA_THREADS
      : result.relayCpu;

const steps = (variable: string, fallback: string): number[] =>
  (process.env[variable] ?? fallback)
    .split(',')
    .map(Number)
    .filter((calls) => calls > 0);
/** Calls per step and backend; a backend's run stops at its first step that saturates. */
const STEPS: Record<Backend, number[]> = {
  werift: steps('TELEGATE_BENCH_MEDIA_WERIFT_STEPS', '10,25,50,75,100,150'),
  'werift-threads': steps('TELEGATE_BENCH_MEDIA_WERIFT_THREADS_STEPS', '10,25,50,75,100,150'),
  mediasoup: steps('TELEGATE_BENCH_MEDIA_MEDIASOUP_STEPS', '25,50,100,200,300,400'),
};
/** A backend's steps stop once this much time has gone into them (set-up included). */
const BACKEND_BUDGET_MS = Number(process.env.TELEGATE_BENCH_MEDIA_BUDGET_S ?? 240) * 1000;
/** How long a step waits for every call's media to flow before measuring anyway. */
const SETTLE_MS = 15_000;
const WARMUP_MS = 1_000;
const WINDOW_MS = 3_000;
const GRACE_MS = 300;
/**
 * A step saturates when the backend uses this share of one core (mediasoup: its worker's), loses this
 * much, or the test peers run out of CPU or cannot keep time (they skip this share of their frames).
 */
const SATURATED_CPU = 0.85;
const SATURATED_LOSS = 0.01;
const PEERS_SATURATED_CPU = 0.9;
const PEERS_SATURATED_SKIPPED = 0.01;
const SETUP_BATCH = 10;
/** The 20 ms packet interval in slots: each call sends in its own slot. */
const SLOTS = 10;
const SLOT_MS = 20 / SLOTS;
/**
 * A slot more than this many slots overdue when the test peers get to it (their process stalled) is
 * skipped: its frames are not sent, rather than every call's overdue frames at once.
 */
const LATE_SLOTS = 5;
/** A silence of every test endpoint longer than five packet intervals is a stall of the test peers. */
const STALL_MS = 100;
/** The UDP ports each process under test relays on (its side only): the capture listens to these. */
const PORTS: Record<Backend | 'forward', [number, number]> = {
  werift: [46_000, 46_999],
  'werift-threads': [44_000, 44_999],
  mediasoup: [47_000, 49_999],
  forward: [45_000, 45_999],
};
const portArgs = ([low, high]: [number, number]): string[] => [String(low), String(high)];
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

async function bundleChild(): Promise<{ dir: string; script: string; cleanup(): Promise<void> }> {
  const base = join(repoRoot, '.tmp');
  mkdirSync(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'bench-media-'));
  const script = join(dir, 'child.mjs');
  const bundle = (entry: string, outfile: string) =>
    build({
      entryPoints: [join(repoRoot, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      plugins: [runtimeSubpathsFromSource()],
      logLevel: 'error',
    });
  await bundle('test/bench/media-relay-child.ts', script);
  // The threaded werift backend starts its threads from `media-thread.js` beside its own module.
  await bundle('packages/gateway/src/media/werift/media-thread.ts', join(dir, 'media-thread.js'));
  return { dir, script, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

type RelayRequest = { kind: string } & Record<string, unknown>;

/** A media bench child (media-relay-child.ts): a backend under test, or the forwarder. */
class RelayProcess {
  /**
   * How the relay is scheduled (its media threads, its workers or its main thread): `SCHED_RR <priority>`
   * (`TELEGATE_BENCH_MEDIA_REALTIME`, where permitted), `nice <value>` or `nice not applied (why)`
   * (`TELEGATE_BENCH_MEDIA_NICE`), or undefined with both `none`.
   */
  priority: string | undefined;

  private constructor(
    readonly ipc: IpcProcess<RelayRequest>,
    /** The UDP ports the process relays from and to (its own side), for the capture's filter. */
    readonly ports: [number, number],
    /** `werift`, `mediasoup` or `forward`. */
    readonly mode: string,
  ) {}

  /**
   * `TELEGATE_BENCH_MEDIA_PROFILE=<dir>` writes a V8 CPU profile of the backend's process
   * there (`--cpu-prof`), for chrome://inspect or speedscope.
   */
  static async start(script: string, args: string[], ports: [number, number]): Promise<RelayProcess> {
    const profile = process.env.TELEGATE_BENCH_MEDIA_PROFILE;
    const ipc = IpcProcess.fork<RelayRequest>('media bench child', script, {
      args,
      // The backends on threads or in a worker process run with the gateway's Node flags, as under
      // `npm start`; werift on the main thread without them, as the README advises for MEDIA_THREADS=0.
      execArgv: [
        ...(args[0] === 'werift-threads' || args[0] === 'mediasoup' ? GATEWAY_NODE_FLAGS : []),
        ...(profile === undefined || args[0] === 'forward' ? [] : ['--cpu-prof', '--cpu-prof-dir', profile]),
      ],
      quiet: true,
      exitRequest: { kind: 'exit' },
      timeoutMs: 30_000,
    });
    const relay = new RelayProcess(ipc, ports, args[0]!);
    relay.priority = (await ipc.ready).priority as string | undefined;
    return relay;
  }

  /** Requests run concurrently in the child; replies carry the request's id. */
  request(message: RelayRequest): Promise<Record<string, unknown>> {
    return this.ipc.request(message);
  }

  /**
   * CPU seconds used so far (the Node process's and its mediasoup workers'), and its event
   * loop's figures since the last `reset`.
   */
  async sample(reset = false): Promise<{ node: number; workers: number; loop: LoopStats }> {
    const stats = await this.request({ kind: 'stats', reset });
    return {
      node: cpuSeconds(stats.cpu as NodeJS.CpuUsage),
      workers: stats.workersCpu as number,
      loop: stats.loop as LoopStats,
    };
  }

  stop(): Promise<void> {
    return this.ipc.stop();
  }
}

// ------------------------------------------------------------------ calls and the packet clock

/** One direction of a call: what was sent and received inside the measured window. */
interface Direction {
  sent: number;
  received: number;
}

type Way = 'toSip' | 'toDevice';

interface Call {
  /** Sends one stamped packet each way. */
  tick(payload: Buffer): void;
  /** The call's two directions through the relay, by the endpoints' ports. */
  flows: RelayFlow<Way>[];
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
  const offer = await device.createOffer();
  const devicePort = Number(/^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m.exec(offer)?.[1]);
  const created = await relay.request({ kind: 'create', offer });
  await device.acceptAnswer(created.webrtcAnswer as string);
  sip.setRemoteFromSdp(created.rtpOffer as string);
  await relay.request({ kind: 'answer', id: created.id, sdp: sip.sdp({ laws: ['pcmu'] }) });
  let ready = false;
  return {
    ...call,
    flows: [
      { direction: 'toSip', from: devicePort, to: sip.port },
      { direction: 'toDevice', from: sip.port, to: devicePort },
    ],
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
    flows: [
      { direction: 'toSip', from: device.port, to: sip.port },
      { direction: 'toDevice', from: sip.port, to: device.port },
    ],
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
  /** End to end (test device → test peer, in the benchmark's process), in ms. */
  p50: number;
  p99: number;
  /** At the relay's edges (kernel time stamps of a loopback capture): undefined without a capture. */
  edges: EdgeLatency | undefined;
  /** Share of the window the relay's event loop (mediasoup: its worker) was runnable but had no core. */
  waited: number;
  /** The relay process's event loop over the window (for mediasoup, the Node process driving the worker). */
  loop: LoopStats;
  loss: number;
  firstP50: number;
  firstP99: number;
  /** The share of the window's frames the test peers skipped, being overdue by more than LATE_SLOTS. */
  peersSkipped: number;
}

/** What the backend's process reports of its event loop (see media-relay-child.ts). */
interface LoopStats {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** Seconds the event loop's thread, and the workers' main threads, spent waiting for a core. */
  runDelayS: number;
  workersRunDelayS: number;
}

interface EdgeLatency {
  toSip: EdgeFigures;
  toDevice: EdgeFigures;
  /** Both directions together. */
  both: EdgeFigures;
  /** Packets the kernel dropped from the capture (not from the relay). */
  captureDropped: number;
  /** The longest time no test endpoint sent anything to the relay (they stalled together). */
  sendersSilentMs: number;
}

interface EdgeFigures {
  p50: number;
  p99: number;
  max: number;
  entered: number;
  /** Packets that entered again (a retransmission), counted once in `entered`. */
  repeated: number;
  matched: number;
}

/** The share of the packets entering the backend that never left it (in the capture). */
const edgeLoss = (figures: EdgeFigures): number =>
  figures.entered === 0 ? 1 : Math.max(0, 1 - figures.matched / figures.entered);

function edgeFigures(direction: DirectionLatency | undefined): EdgeFigures {
  const latencies = direction?.latenciesMs ?? [];
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.length === 0 ? Number.NaN : latencies.reduce((a, b) => Math.max(a, b)),
    entered: direction?.entered ?? 0,
    repeated: direction?.repeated ?? 0,
    matched: direction?.matched ?? 0,
  };
}

/** Why the relay's edges are not captured on this machine (one line), or undefined when they are. */
const captureMissing = tcpdumpMissing();

const cpuSeconds = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1e6;

/** A tcpdump of the relay's ports over the measured window, into `dir`; undefined without tcpdump. */
async function startCapture(
  relay: RelayProcess,
  calls: number,
  dir: string,
): Promise<LoopbackCapture | undefined> {
  if (captureMissing !== undefined) return undefined;
  const [low, high] = relay.ports;
  // Two packets each way per call and 20 ms (one in, one out), over the window and its margins.
  const expected = calls * 4 * 50 * ((WINDOW_MS + GRACE_MS) / 1000 + 2);
  return LoopbackCapture.start({
    file: join(dir, 'relay.pcap'),
    filter: `udp and portrange ${low}-${high}`,
    maxPackets: Math.ceil(expected * 1.5),
  });
}

async function edgeLatency(
  capture: LoopbackCapture,
  calls: readonly Call[],
  dir: string,
): Promise<EdgeLatency> {
  const { dropped } = await capture.stop();
  const file = join(dir, 'relay.pcap');
  try {
    const datagrams = readUdpDatagrams(await readFile(file));
    // The capture runs on for a second after the grace period: a packet still inside the backend then is lost.
    // Its first 100 ms are left out: tcpdump may miss packets of its first moment.
    const byWay = relayLatencies(
      datagrams,
      calls.flatMap((call) => call.flows),
      { headMs: 100, tailMs: 1_000 },
    );
    const toSip = byWay.get('toSip');
    const toDevice = byWay.get('toDevice');
    return {
      toSip: edgeFigures(toSip),
      toDevice: edgeFigures(toDevice),
      both: edgeFigures({
        latenciesMs: [...(toSip?.latenciesMs ?? []), ...(toDevice?.latenciesMs ?? [])],
        entered: (toSip?.entered ?? 0) + (toDevice?.entered ?? 0),
        repeated: (toSip?.repeated ?? 0) + (toDevice?.repeated ?? 0),
        matched: (toSip?.matched ?? 0) + (toDevice?.matched ?? 0),
      }),
      captureDropped: dropped,
      sendersSilentMs: longestSilenceMs(
        datagrams,
        new Set(calls.flatMap((call) => call.flows.map((f) => f.from))),
      ),
    };
  } finally {
    await rm(file, { force: true });
  }
}

async function step(
  relay: RelayProcess,
  count: number,
  make: (relay: RelayProcess) => Promise<Call>,
  dir: string,
): Promise<StepResult> {
  const calls: Call[] = [];
  let capture: LoopbackCapture | undefined;
  const payload = Buffer.alloc(168, 0xff);
  // Independent calls send at independent phases of their 20 ms: call i in slot i mod 10, slots
  // 2 ms apart. Every slot due since the last tick is sent, so timer drift never lowers the rate.
  const clockStart = performance.now();
  let slotsSent = 0;
  let framesSent = 0;
  let framesDue = 0;
  let framesSkipped = 0;
  const framesOfSlot = (slot: number) => Math.max(0, Math.ceil((calls.length - (slot % SLOTS)) / SLOTS));
  const clock = setInterval(() => {
    const due = Math.floor((performance.now() - clockStart) / SLOT_MS);
    // Independent callers do not stall together: after a stall of this process, the slots it missed
    // by more than LATE_SLOTS are skipped (and counted), not sent in one burst of every call's frames.
    for (; slotsSent < due - LATE_SLOTS; slotsSent++) {
      if (!measuring) continue;
      framesDue += framesOfSlot(slotsSent);
      framesSkipped += framesOfSlot(slotsSent);
    }
    for (; slotsSent <= due; slotsSent++) {
      const slot = slotsSent % SLOTS;
      if (measuring) framesDue += framesOfSlot(slot);
      for (let i = slot; i < calls.length; i += SLOTS) {
        // 152–167 bytes, varied from packet to packet: the capture's matching pairs packets by their lengths too.
        const frame = payload.subarray(0, 152 + (Math.imul(++framesSent, 0x9e3779b1) >>> 28));
        stamp(frame);
        calls[i]!.tick(frame);
      }
    }
  }, SLOT_MS);
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
    capture = await startCapture(relay, count, dir);
    const relayBefore = await relay.sample(true);
    const peersBefore = process.cpuUsage();
    const startedAt = performance.now();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    measuring = false;
    const wall = (performance.now() - startedAt) / 1000;
    const relayAfter = await relay.sample();
    const workersCpu = (relayAfter.workers - relayBefore.workers) / wall;
    const relayCpu = (relayAfter.node - relayBefore.node) / wall + workersCpu;
    const peersCpu = cpuSeconds(process.cpuUsage(peersBefore)) / wall;
    const loop = relayAfter.loop;
    const waited =
      relay.mode === 'mediasoup'
        ? (loop.workersRunDelayS - relayBefore.loop.workersRunDelayS) / wall
        : (loop.runDelayS - relayBefore.loop.runDelayS) / wall;
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
    const live = calls.filter((call) => call.established());
    const edges = capture === undefined ? undefined : await edgeLatency(capture, live, dir);
    let sent = 0;
    let received = 0;
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
      edges,
      waited,
      loop,
      loss: sent === 0 ? 1 : Math.max(0, 1 - received / sent),
      firstP50: percentile(first, 50),
      firstP99: percentile(first, 99),
      peersSkipped: framesDue === 0 ? 0 : framesSkipped / framesDue,
    };
  } finally {
    clearInterval(clock);
    await capture?.stop();
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
/** A share of packets as a percentage; a loss too small for two decimals still shows (0.0013 %, never 0.00 %). */
const lossPct = (share: number): string =>
  share > 0 && share < 0.0001 ? `${(share * 100).toPrecision(2)} %` : `${(share * 100).toFixed(2)} %`;
const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '—');
/** Sub-millisecond figures keep two decimals. */
const fine = (value: number): string =>
  Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ms` : '—';
/** How long the backend had no core although it had work, and (werift) what its GC took. */
const waitCell = (backend: Backend, result: StepResult): string => {
  const waited = Number.isFinite(result.waited) ? pct(result.waited) : '—';
  if (backend === 'mediasoup') return `worker ${waited}`;
  const { gcMaxMs, gcTotalMs, gcCount } = result.loop;
  if (backend === 'werift-threads')
    return `${waited} (mean of the threads); GC of all threads ${fine(gcMaxMs)} / ${fine(gcTotalMs)} (${gcCount} pauses)`;
  return `${waited}; GC ${fine(gcMaxMs)} / ${fine(gcTotalMs)} (${gcCount} pauses)`;
};
const edgeCell = (figures: EdgeFigures | undefined): string =>
  figures === undefined ? '—' : `${fine(figures.p50)} / ${fine(figures.p99)} / ${fine(figures.max)}`;
/** Latency the backend adds over the forwarder at the same percentile and call count. */
const added = (relayed: number, floor: number): number => Math.max(0, relayed - floor);

/** What a step's figures say about the backend: why its run stops there, if it does. */
function saturation(backend: Backend, result: StepResult): string | undefined {
  const core = coreShare(backend, result);
  const name = label(backend);
  if (result.failed === result.calls)
    return `Every ${name} call set-up failed at ${result.calls} calls (no media either way): the test devices' DTLS did not complete, so nothing was measured.`;
  if (core >= SATURATED_CPU)
    return `${name} saturated ${backend === 'mediasoup' ? 'its worker’s core' : backend === 'werift-threads' ? 'its threads’ cores' : 'its core'} at ${result.calls} calls (${pct(core)}).`;
  const lostInside = result.edges === undefined ? undefined : edgeLoss(result.edges.both);
  if (lostInside !== undefined && lostInside >= SATURATED_LOSS)
    return `${name} lost ${lossPct(lostInside)} of the packets entering it (at its edges) at ${result.calls} calls while using ${pct(core)} of ${backend === 'werift-threads' ? 'each core' : 'a core'}: the loss came before the CPU limit.`;
  if (result.loss >= SATURATED_LOSS)
    return lostInside === undefined
      ? `${name} lost ${lossPct(result.loss)} of the packets at ${result.calls} calls while using ${pct(core)} of ${backend === 'werift-threads' ? 'each core' : 'a core'}: the loss came before the CPU limit.`
      : `The test peers (the benchmark's process) fell behind at ${result.calls} ${name} calls: ${lossPct(result.loss)} of the packets sent in the window were not received in time, while ${name} relayed all but ${lossPct(lostInside)} of what entered it, using ${pct(core)} of ${backend === 'werift-threads' ? 'each core' : 'a core'}.`;
  if (result.peersCpu >= PEERS_SATURATED_CPU)
    return `The test peers (the benchmark's process) ran out of CPU at ${result.calls} ${name} calls (${pct(result.peersCpu)}); ${name} itself used ${pct(core)} of ${backend === 'werift-threads' ? 'each core' : 'a core'} and did not saturate.`;
  if (result.peersSkipped >= PEERS_SATURATED_SKIPPED)
    return `The test peers (the benchmark's process) could not keep time at ${result.calls} ${name} calls: they skipped ${lossPct(result.peersSkipped)} of their frames, being over ${LATE_SLOTS * SLOT_MS} ms late, and sent others late together, so the backend got bursts rather than the calls' load (they used ${pct(result.peersCpu)} of a core, sharing the cores with ${name} and tcpdump). ${name} itself used ${pct(core)} of ${backend === 'werift-threads' ? 'each core' : 'a core'} and did not saturate; its latency there (p99 ${result.edges === undefined ? ms(result.p99) : fine(result.edges.both.p99)}) is shown, not judged.`;
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
  dir: string,
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
      relayed = await step(relay, calls, relayedCall, dir);
      floor = await step(forward, calls, forwardedCall, dir);
    } catch (error) {
      run.stopReason = `${backend} at ${calls} calls: the step did not complete (${error instanceof Error ? error.message : String(error)}).`;
      break;
    }
    run.results.push({ relayed, floor });
    const cpuPerCall = relayed.relayCpu / Math.max(1, calls - relayed.failed);
    console.log(
      `  ${label(backend)} ${calls} calls: ${pct(relayed.relayCpu)} CPU, forwarder ${pct(floor.relayCpu)}, peers ${pct(relayed.peersCpu)}, loss ${(relayed.loss * 100).toFixed(2)} %, at the edges p50/p99/max ${edgeCell(relayed.edges?.both)}, forwarder ${edgeCell(floor.edges?.both)}; ${waitCell(backend, relayed)}; loop delay p99 ${fine(relayed.loop.loopDelayP99Ms)}, max ${fine(relayed.loop.loopDelayMaxMs)}`,
    );
    rows.push([
      label(backend),
      String(calls),
      backend === 'mediasoup'
        ? `${pct(relayed.relayCpu)} (worker ${pct(relayed.workersCpu)})`
        : pct(relayed.relayCpu),
      `${(cpuPerCall * 100).toFixed(2)} %`,
      pct(floor.relayCpu),
      edgeCell(relayed.edges?.toSip),
      edgeCell(relayed.edges?.toDevice),
      floor.edges === undefined ? '—' : `${fine(floor.edges.both.p50)} / ${fine(floor.edges.both.p99)}`,
      `${ms(added(relayed.p50, floor.p50))} / ${ms(added(relayed.p99, floor.p99))}`,
      relayed.edges === undefined
        ? lossPct(relayed.loss)
        : `${lossPct(edgeLoss(relayed.edges.both))} (end to end ${lossPct(relayed.loss)})${relayed.edges.captureDropped > 0 ? `; the capture missed ${relayed.edges.captureDropped} packets` : ''}${relayed.edges.both.repeated > 0 ? `; ${relayed.edges.both.repeated} sent again (toward SIP ${relayed.edges.toSip.repeated}), counted once` : ''}`,
      String(relayed.failed),
      waitCell(backend, relayed),
      `${ms(relayed.firstP50)} / ${ms(relayed.firstP99)}`,
      (relayed.edges === undefined
        ? pct(relayed.peersCpu)
        : `${pct(relayed.peersCpu)}; silent ${fine(relayed.edges.sendersSilentMs)} at most`) +
        `; ${lossPct(relayed.peersSkipped)} skipped`,
    ]);
    const reason = saturation(backend, relayed);
    if (reason !== undefined) {
      run.stopReason = reason;
      if (coreShare(backend, relayed) >= SATURATED_CPU) run.saturatedAt = calls;
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
    notes.push(
      `${label(run.backend)}: no step completed below saturation, so no goal can be judged from this run.`,
    );
    return notes;
  }
  // The CPU per call at the largest step below saturation: the figure that scales.
  const share = run.backend === 'mediasoup' ? widest.relayed.workersCpu : widest.relayed.relayCpu;
  const live = Math.max(1, widest.relayed.calls - widest.relayed.failed);
  const perCore = live / Math.max(share, 1e-6);
  // werift on threads saturates all its threads' cores together.
  const cores = run.backend === 'werift-threads' ? MEDIA_THREADS : 1;
  const capacity =
    run.saturatedAt !== undefined
      ? `saturated ${cores === 1 ? 'its core' : `its ${cores} threads’ cores`} at ${run.saturatedAt} calls`
      : `did not saturate (largest step ${widest.relayed.calls} calls at ${pct(share)} of a core${cores === 1 ? '' : ` in all, over ${cores} threads`})`;
  const judged =
    run.saturatedAt !== undefined
      ? run.saturatedAt / cores >= goalPerCore
        ? 'met'
        : perCore >= goalPerCore
          ? 'not settled (the CPU per call says met, the saturating step came earlier)'
          : 'missed'
      : perCore >= goalPerCore
        ? 'met by extrapolation from the CPU per call (not driven to saturation here)'
        : 'missed (by the CPU per call)';
  notes.push(
    `${label(run.backend)}: ${capacity}; at ${widest.relayed.calls} calls one call costs ${((share / live) * 100).toFixed(2)} % of a core, about ${Math.round(perCore)} calls per core. Goal ≥ ${goalPerCore} calls per core: ${judged}${caveat}.`,
  );
  const captured = below.every(({ relayed }) => relayed.edges !== undefined);
  const worstLoss = Math.max(
    ...below.map(({ relayed }) => (captured ? edgeLoss(relayed.edges!.both) : relayed.loss)),
  );
  const p99Of = ({ relayed, floor }: (typeof below)[number]): number =>
    captured
      ? Math.max(relayed.edges!.toSip.p99, relayed.edges!.toDevice.p99)
      : added(relayed.p99, floor.p99);
  const measure = captured
    ? 'added one-way latency p99 at its edges (packet in → relayed packet out, kernel time stamps), worse direction,'
    : 'added one-way latency p99 end to end (less the forwarder’s; no capture)';
  // A step where the test peers stalled for long did not apply its load: latency is judged on the
  // steps where they kept sending.
  const steady = below.filter(({ relayed }) => (relayed.edges?.sendersSilentMs ?? 0) <= STALL_MS);
  const stalled = below.filter((step) => !steady.includes(step));
  const stalledText =
    stalled.length === 0
      ? ''
      : ` At ${stalled.map((r) => r.relayed.calls).join(', ')} calls the test peers stalled together (no packet from any of them) for up to ${fine(Math.max(...stalled.map(({ relayed }) => relayed.edges!.sendersSilentMs)))}; the p99 there, up to ${fine(Math.max(...stalled.map(p99Of)))}, is not judged.`;
  const worstP99 = steady.length === 0 ? Number.NaN : Math.max(...steady.map(p99Of));
  const latencyText =
    steady.length === 0
      ? `${measure} not judged: the test peers stalled for more than ${STALL_MS} ms in every step`
      : `${measure} at most ${fine(worstP99)}${stalled.length === 0 ? '' : ` where the test peers kept sending (${steady.map((r) => r.relayed.calls).join(', ')} calls)`} (goal < 5 ms: ${worstP99 < 5 ? 'met' : 'missed'})`;
  const captureMissed = captured && below.some(({ relayed }) => relayed.edges!.captureDropped > 0);
  const { loop, waited } = widest.relayed;
  const tail =
    run.backend === 'werift-threads'
      ? ` At ${widest.relayed.calls} calls its threads' event loops waited for a core ${Number.isFinite(waited) ? pct(waited) : '(not known)'} of the window (mean of the threads) and their garbage collectors paused ${loop.gcCount} times together (longest ${fine(loop.gcMaxMs)}, ${fine(loop.gcTotalMs)} in all).`
      : run.backend === 'werift'
        ? ` At ${widest.relayed.calls} calls its event loop waited for a core ${Number.isFinite(waited) ? pct(waited) : '(not known)'} of the window and its garbage collector paused ${loop.gcCount} times (longest ${fine(loop.gcMaxMs)}, ${fine(loop.gcTotalMs)} in all).`
        : ` At ${widest.relayed.calls} calls its worker waited for a core ${Number.isFinite(waited) ? pct(waited) : '(not known)'} of the window.`;
  notes.push(
    `${label(run.backend)} below saturation (${below.map((r) => r.relayed.calls).join(', ')} calls): ${latencyText}; loss${captured ? ' at its edges' : ''} at most ${lossPct(worstLoss)} (goal 0: ${worstLoss === 0 ? 'met' : captureMissed ? 'not settled: the capture itself missed packets' : 'missed'})${caveat}.${tail}${stalledText}`,
  );
  return notes;
}

export async function mediaBench(): Promise<BenchResult> {
  const loadAtStart = loadavg()[0]!;
  const srtp = srtpPerPacket();
  console.log(`  SRTP per packet: werift ${srtp.werift.toFixed(1)} µs, fast path ${srtp.fast.toFixed(1)} µs`);
  const workerBin = locateWorkerBin();
  const { dir, script, cleanup } = await bundleChild();
  const forward = await RelayProcess.start(script, ['forward', ...portArgs(PORTS.forward)], PORTS.forward);
  const rows: string[][] = [];
  const notes: string[] = [];
  const loads: string[] = [];
  const peakLoads: number[] = [];
  try {
    const plan: [Backend, number, string[] | undefined][] = [
      ['werift', 30, ['werift', ...portArgs(PORTS.werift)]],
      ['werift-threads', 30, ['werift-threads', ...portArgs(PORTS['werift-threads']), String(MEDIA_THREADS)]],
      [
        'mediasoup',
        300,
        workerBin === undefined ? undefined : ['mediasoup', ...portArgs(PORTS.mediasoup), workerBin],
      ],
    ];
    for (const [backend, goalPerCore, args] of plan) {
      if (args === undefined) {
        notes.push(
          'mediasoup: not measured, no worker binary (build it with `npm run build:mediasoup-worker`, or set MEDIASOUP_WORKER_BIN).',
        );
        continue;
      }
      const relay = await RelayProcess.start(script, args, PORTS[backend]);
      try {
        const run = await runBackend(backend, relay, forward, rows, dir);
        const load = loadavg()[0]!;
        loads.push(`${load.toFixed(1)} after ${label(backend)}`);
        peakLoads.push(load);
        if (run.stopReason !== undefined) notes.push(run.stopReason);
        if (relay.priority?.startsWith('nice not applied') === true)
          notes.push(
            `${label(backend)}, the forwarder, the test peers and tcpdump ran at the same nice value: lowering it was ${relay.priority.slice(5)}.`,
          );
        else if (relay.priority?.startsWith('SCHED_RR') === true)
          notes.push(
            `${label(backend)} ran under ${relay.priority}${backend === 'werift' ? ' (every thread of its process, as `chrt` starts it: `MEDIA_REALTIME` applies to media threads)' : backend === 'mediasoup' ? ' (`MEDIA_REALTIME`, every thread of its worker)' : ' (`MEDIA_REALTIME`: its media threads, and its process’s other threads but the main one)'} and the forwarder under ${forward.priority} (every thread), ahead of the test peers and tcpdump, normal threads at nice 0.`,
          );
        else if (relay.priority !== undefined)
          notes.push(
            `${label(backend)} ran at ${relay.priority}${backend === 'werift' ? ' (its process, as `nice -n` starts it: `MEDIA_NICE` applies to media threads)' : ' (`MEDIA_NICE`, on its media threads or worker)'} and the forwarder at ${forward.priority}, ahead of the test peers and tcpdump, which ran at 0.`,
          );
        else
          notes.push(
            `${label(backend)}, the forwarder, the test peers and tcpdump ran at the same nice value (TELEGATE_BENCH_MEDIA_NICE=none).`,
          );
        notes.push(...verdicts(run, goalPerCore, Math.max(loadAtStart, load) > cpus().length / 2));
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
    ...(Math.max(loadAtStart, ...peakLoads) > cores / 2
      ? [
          'The machine was busy with other work during this run: each process got only its turn on a core, so CPU shares are capped by the scheduler and latency includes waiting for a core. Saturation points and latency goals are only meaningful from a run on an otherwise idle machine.',
        ]
      : []),
    'CPU: the backend process’s (user + system) over the measured window, as a share of one core; for mediasoup the worker (a separate process, from /proc/<pid>/stat) plus the Node process driving it. mediasoup runs one worker here, so its saturation is that worker’s core; in production one worker runs per core. CPU per call and calls per core count the calls whose media flowed (failed set-ups left out): calls per core is those calls of the largest step below saturation divided by its CPU share.',
    `Node flags: werift on threads and mediasoup run in a process started with the gateway’s (\`${GATEWAY_NODE_FLAGS.join(' ')}\`, as \`npm start\` runs it), whose media threads keep V8’s default young generation; werift on the main thread runs without them (the README advises against the first for \`MEDIA_THREADS=0\`).`,
    'The test devices are werift peer connections in the benchmark’s process (DTLS once, then SRTP on the same fast path as the werift backend’s relay) and the SIP side plain RTP sockets; their CPU is the "test peers" column. When it nears a core the devices, not the backend, limit the step.',
    'Failed set-ups: calls with no media either way 15 s after the last set-up, left out of loss and latency. The measured window starts once every call has media (or those 15 s are over) and 1 s more has passed.',
    captureMissing === undefined
      ? 'Added at the edges: a `tcpdump` of the loopback interface on the backend’s ports over the measured window (kernel time stamps, ns); each RTP packet entering the backend is matched with the packet it relays (by RTP sequence number and timestamp, both in clear in SRTP too, less the constant offsets a backend that rewrites them applies, learnt per call and direction from the packets’ lengths, which the test peers vary), and the latency is relayed packet out − packet in. On loopback the kernel stamps a packet as its sender hands it over, so this is the backend’s own delay: the wait in its socket queue for its event loop (or worker) and a core, its SRTP and rewriting, and nothing of the test devices’ work. The forwarder is measured the same way. `tcpdump` itself takes some CPU during the window, on the same cores.'
      : `Added at the edges: not measured, ${captureMissing}; only the end-to-end figure below is given.`,
    'End to end: one-way, packet sent → packet received, both ends in the benchmark’s process, so it includes the test devices’ own SRTP work and their event loop; the backend’s figure less the forwarder’s at the same percentile and call count. Loss end to end counts packets sent in the measured window and not received within 300 ms after it; loss at the edges, packets that entered the backend during the capture (after its first 100 ms: tcpdump may miss packets of its first moment, the relayed copy of a packet it saw enter among them) and did not leave it within 1 s (a packet sent into it again, with the same sequence number and timestamp, counts once).',
    `Calls send at spread phases, as independent calls do: call i sends its packets in slot i mod 10 of each 20 ms, slots 2 ms apart (one timer for all calls sent every call at once, and the backend then worked through a burst of all calls’ packets every 20 ms). When the test peers’ process falls behind by more than ${LATE_SLOTS * SLOT_MS} ms, it skips the frames of the slots it missed (the share is in the last column) rather than sending every call’s overdue frames in one burst, which independent callers never do: a burst would time how long the backend takes to work through the test peers’ backlog, not what it adds to a packet. Their longest silence (no packet to the backend from any test endpoint, in the capture) says how long a stall lasted. A step where it passed ${STALL_MS} ms (five packet intervals) is shown but its latency is not judged against the goal.`,
    'Waiting for a core: the time the backend’s event loop thread (mediasoup: its worker’s; werift on threads: the mean of its threads, each from /proc/thread-self/schedstat) was runnable but not running, from /proc/<pid>/schedstat, as a share of the window: latency the scheduler adds, not the backend’s own work. The backends and the forwarder run under SCHED_RR at priority 1 by default where permitted (`TELEGATE_BENCH_MEDIA_REALTIME`), else at nice -10 (`TELEGATE_BENCH_MEDIA_NICE`; `none` for both leaves them at the test peers’ 0), as the README advises `MEDIA_REALTIME` (or `MEDIA_NICE`) for a gateway that shares its cores: on this 2-core machine the test peers take about as much CPU as the backend, which a gateway in service does not share its cores with, and the scheduler otherwise lets them run first about as often. A nice value only weighs a thread’s share: a woken relay thread still waited for the running test peer’s slice (5–8 % of the window on 2 threads at 100–150 calls), and so did V8’s helper threads, which a media thread’s scavenge waits for; under SCHED_RR both run as soon as they are woken. GC pauses: werift’s garbage collections over the window (longest, total), from a PerformanceObserver in its process (on threads: in each thread, together); a pause holds every packet that arrives during it (on threads: that thread’s packets).',
    'First packet: from the device starting its offer to the first packet the RTP peer receives (calls are set up 10 at a time, so it includes queueing behind the other set-ups).',
  );
  return {
    id: 'media',
    title: 'Media relay',
    description:
      'Concurrent G.711 calls relayed by each media backend (WebRTC device ↔ backend ↔ plain RTP peer, 50 packets/s each way per call of 152–167 payload bytes, loopback): werift on its process’s main thread, werift on worker threads (`MEDIA_THREADS`, the gateway’s default: one per core), then mediasoup with one worker, in the same run, each against a bare UDP forwarder between two plain RTP peers at the same call count. Latency is measured where the backend adds it: a capture of loopback gives each packet’s kernel time stamp entering the backend and leaving it. Goals: mediasoup ≥ 300 concurrent calls per core, werift ≥ 30, added one-way latency p99 < 5 ms and no loss below saturation.',
    columns: [
      'backend',
      'calls',
      'backend CPU',
      'CPU per call',
      'forwarder CPU',
      'added at the edges, device → SIP p50 / p99 / max',
      'added at the edges, SIP → device p50 / p99 / max',
      'forwarder at its edges p50 / p99',
      'end to end, less the forwarder, p50 / p99',
      'loss at the edges (end to end)',
      'failed set-ups',
      'backend waiting for a core; GC pauses max / total',
      'first packet p50 / p99',
      'test peers CPU; their longest silence; frames they skipped',
    ],
    rows,
    notes,
  };
}
