/**
 * The process under test of the media benchmark (bundled by media.ts):
 * `werift` runs the werift media backend on the main thread, `werift-threads <n>`
 * on n worker threads (the gateway's default); `mediasoup <worker>` the mediasoup
 * backend with one worker process; `forward` is the peer, a bare UDP
 * forwarder (two sockets per call, no ICE, no DTLS, no SRTP, no rewriting).
 * Requests come over IPC and run concurrently.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  checkNicePermitted,
  createThreadedWeriftMediaBackend,
  createWeriftMediaBackend,
  realtimePriority,
  setHelperThreadsRealtime,
  setRealtime,
  type ThreadedWeriftMediaBackend,
} from '../../packages/gateway/src/media/index.js';
import { createMediasoupMediaBackend } from '../../packages/gateway/src/media/mediasoup/index.js';
import type { MediaBackend, MediaEndpoint } from '../../packages/gateway/src/network/media-backend.js';
import { watchGcPauses } from '../../packages/gateway/src/observability/gc-pauses.js';
import { parseSdp } from '../../packages/gateway/src/sdp/parse.js';
import { checkRtpSdp } from '../../packages/gateway/src/sdp/rtp.js';
import { checkWebRtcSdp } from '../../packages/gateway/src/sdp/webrtc.js';
import { answerRequests } from './ipc-child.ts';

type Request =
  | { kind: 'create'; offer: string }
  | { kind: 'answer'; id: number; sdp: string }
  | { kind: 'forward'; a: number; b: number }
  | { kind: 'stats'; reset?: boolean }
  | { kind: 'inspect' }
  | { kind: 'closeAll' }
  | { kind: 'exit' };

const mode = process.argv[2];

/**
 * The nice value the relay runs at: `TELEGATE_BENCH_MEDIA_NICE`, by default -10, the `MEDIA_NICE`
 * the README advises for production (`none`: every process at its own). werift on threads and
 * mediasoup take it as the gateway does (their threads, their workers); werift on the main thread and
 * the forwarder on this process's main thread, as `nice -n` would start them. Without the privilege
 * to lower it, nothing is changed and the bench says so.
 */
const niceSetting = process.env.TELEGATE_BENCH_MEDIA_NICE ?? '-10';
let nice: number | undefined;
let niceApplied: string | undefined;

/**
 * The SCHED_RR priority the relay runs at instead: `TELEGATE_BENCH_MEDIA_REALTIME`, by default 1
 * where this process may (root, CAP_SYS_NICE), the `MEDIA_REALTIME` the README advises for a
 * gateway that shares its cores (`none`: the nice value above). werift on threads and mediasoup take
 * it as the gateway does (the media threads and the process's helper threads, every thread of the
 * workers); werift on the main thread and the forwarder on every thread of this process, as `chrt`
 * would start them.
 */
const realtimeSetting = process.env.TELEGATE_BENCH_MEDIA_REALTIME ?? '1';
let realtime: number | undefined;
if (realtimeSetting !== 'none') {
  try {
    setHelperThreadsRealtime(Number(realtimeSetting));
    realtime = Number(realtimeSetting);
  } catch {
    // Not permitted here: the nice value then.
  }
}
if (niceSetting !== 'none' && realtime === undefined) {
  try {
    checkNicePermitted(Number(niceSetting));
    nice = Number(niceSetting);
    niceApplied = niceSetting;
  } catch (error) {
    niceApplied = `not applied (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** The ports this process relays on, from the arguments `<mode> <lowest> <highest> [worker | threads]`. */
const portMin = Number(process.argv[3]);
const portMax = Number(process.argv[4]);
const backend: MediaBackend & { workerPids?: number[] } =
  mode === 'mediasoup'
    ? await createMediasoupMediaBackend({
        workerBin: process.argv[5]!,
        workers: 1,
        ...(nice === undefined ? {} : { nice }),
        ...(realtime === undefined ? {} : { realtime }),
        listenIp: '127.0.0.1',
        rtcMinPort: portMin,
        rtcMaxPort: portMax,
      })
    : mode === 'werift-threads'
      ? createThreadedWeriftMediaBackend({
          threads: Number(process.argv[5]),
          ...(nice === undefined ? {} : { nice }),
          ...(realtime === undefined ? {} : { realtime }),
          bindAddress: '127.0.0.1',
          rtpPortMin: portMin,
          rtpPortMax: portMax,
        })
      : createWeriftMediaBackend({ bindAddress: '127.0.0.1', rtpPortMin: portMin, rtpPortMax: portMax });
const threaded = mode === 'werift-threads' ? (backend as ThreadedWeriftMediaBackend) : undefined;
const endpoints = new Map<number, MediaEndpoint>();
const sockets: Socket[] = [];
let next = 1;

/**
 * CPU seconds the mediasoup workers (separate processes) have used: utime + stime of
 * /proc/<pid>/stat, in clock ticks of USER_HZ (100 per second on Linux).
 */
function workersCpuSeconds(): number {
  let ticks = 0;
  for (const pid of backend.workerPids ?? []) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

let nextPort = portMin;

/** A socket on the next free port of the range (the forwarder's). */
/**
 * Nanoseconds the main thread of `pid` (the event loop; a mediasoup worker's loop) has spent
 * runnable but waiting for a core: the second field of /proc/<pid>/schedstat.
 */
function runDelayNs(pid: number | 'self'): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return Number.NaN; // a kernel without schedstats
  }
}

/** The event loop's delays and the garbage collector's pauses since the last reset. */
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gcPauses = watchGcPauses();

/**
 * The event loop's figures: this process's main thread, or with media threads theirs: GC pauses of
 * them all (count, total, longest) and the mean time a thread waited for a core.
 */
async function loopStats(reset: boolean): Promise<Record<string, number>> {
  if (threaded !== undefined) {
    const threads = await threaded.threadDiagnostics(reset);
    return {
      loopDelayP99Ms: Number.NaN,
      loopDelayMaxMs: Number.NaN,
      gcCount: threads.reduce((n, t) => n + t.gcCount, 0),
      gcTotalMs: threads.reduce((n, t) => n + t.gcTotalMs, 0),
      gcMaxMs: Math.max(0, ...threads.map((t) => t.gcMaxMs)),
      runDelayS: threads.reduce((n, t) => n + t.runDelayMs, 0) / 1000 / Math.max(1, threads.length),
      workersRunDelayS: 0,
    };
  }
  const gc = gcPauses.read(reset);
  const stats = {
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    gcCount: gc.count,
    gcTotalMs: gc.totalMs,
    gcMaxMs: gc.maxMs,
    runDelayS: runDelayNs('self') / 1e9,
    workersRunDelayS: (backend.workerPids ?? []).reduce((sum, pid) => sum + runDelayNs(pid), 0) / 1e9,
  };
  if (reset) loopDelay.reset();
  return stats;
}

async function udp(): Promise<Socket> {
  for (let tries = 0; tries <= portMax - portMin; tries++) {
    const port = nextPort;
    nextPort = port >= portMax ? portMin : port + 1;
    const socket = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind({ address: '127.0.0.1', port }, () => resolve(true));
    });
    if (!bound) {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      continue;
    }
    socket.on('error', () => {});
    sockets.push(socket);
    return socket;
  }
  throw new Error(`no free UDP port in ${portMin}-${portMax}`);
}

async function handle(request: Request): Promise<Record<string, unknown>> {
  switch (request.kind) {
    case 'create': {
      const created = await backend.createFromWebRtcOffer(
        checkWebRtcSdp(parseSdp(request.offer, 'offer'), 'offer', 'offer'),
      );
      const id = next++;
      endpoints.set(id, created.endpoint);
      return { id, webrtcAnswer: created.webrtcAnswer, rtpOffer: created.rtpOffer };
    }
    case 'answer':
      await endpoints.get(request.id)?.setRtpAnswer(checkRtpSdp(parseSdp(request.sdp, 'answer'), 'answer'));
      return {};
    case 'forward': {
      // Packets from peer A arrive on `toB` and leave towards B from `toA`, and back.
      const [fromA, fromB] = [await udp(), await udp()];
      fromA.on('message', (packet) => fromB.send(packet, request.b, '127.0.0.1'));
      fromB.on('message', (packet) => fromA.send(packet, request.a, '127.0.0.1'));
      return {
        portForA: (fromA.address() as AddressInfo).port,
        portForB: (fromB.address() as AddressInfo).port,
      };
    }
    case 'stats':
      return {
        cpu: process.cpuUsage(),
        workersCpu: workersCpuSeconds(),
        loop: await loopStats(request.reset === true),
        stats: backend.stats?.(),
      };
    case 'inspect':
      return { endpoints: [...endpoints.values()].map((e) => (e as unknown as { state: unknown }).state) };
    case 'closeAll':
      await Promise.all([...endpoints.values()].map((e) => e.close()));
      endpoints.clear();
      for (const socket of sockets.splice(0)) socket.close();
      return {};
    case 'exit':
      await backend.close();
      process.exit(0);
  }
}

answerRequests(handle, 'exit');
if (nice !== undefined) {
  if (mode === 'werift' || mode === 'forward') setPriority(0, nice);
  // As the relaying threads and processes report it: the media threads (started now), the workers, this one.
  await threaded?.start();
  const actual =
    threaded !== undefined
      ? (await threaded.threadDiagnostics()).map((thread) => thread.nice)
      : (backend.workerPids ?? [0]).map((pid) => getPriority(pid));
  niceApplied = [...new Set(actual)].join(', ');
}
let priority = niceApplied === undefined ? undefined : `nice ${niceApplied}`;
if (realtime !== undefined) {
  if (mode === 'werift' || mode === 'forward') setRealtime(process.pid, realtime, true);
  await threaded?.start();
  // As the relaying threads report it: the media threads, every thread of the workers, this process's.
  const actual =
    threaded !== undefined
      ? (await threaded.threadDiagnostics()).map((thread) => thread.realtime)
      : (backend.workerPids ?? [process.pid]).flatMap((pid) =>
          readdirSync(`/proc/${pid}/task`).map((tid) => realtimePriority(Number(tid), pid)),
        );
  priority = `SCHED_RR ${[...new Set(actual)].join(', ')}`;
}
process.send?.({ ok: true, ready: mode, priority });
