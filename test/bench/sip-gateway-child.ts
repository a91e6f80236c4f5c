/**
 * The gateway of the SIP benchmark, in a process of its own as `npm start` runs it (bundled by sip.ts
 * with esbuild and started with the gateway's Node flags): its heap holds the gateway and nothing of the
 * benchmark's tooling, so its garbage collections and event loop are the gateway's alone. It also keeps
 * what the benchmark reads of it: when each call's first INVITE left, each session's Call-ID, and the
 * figures of its main thread over the measured run (event-loop delay and utilization, stalls, GC pauses,
 * CPU, the heap after a full collection). Requests come over IPC, answered by id.
 */

import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import {
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance as nodePerformance,
  PerformanceObserver,
  constants as perfConstants,
} from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  ALL_SCOPES,
  buildGateway,
  type EmbeddedSipBackend,
  type GatewayConfig,
} from '../../packages/gateway/src/index.ts';
import { answerRequests } from './ipc-child.ts';

export type GatewayRequest =
  /** A dev token for the number with every scope. */
  | { kind: 'token'; phone: string }
  | { kind: 'cpu' }
  /** The heap in use after a full collection; with `snapshot`, a heap snapshot written there too. */
  | { kind: 'heap'; snapshot?: string }
  | { kind: 'watch' }
  | { kind: 'unwatch' }
  /** The calls' INVITE times and Call-IDs recorded so far. */
  | { kind: 'calls' }
  | { kind: 'close' };

/** What the first message says once the gateway listens. */
export interface GatewayReady {
  port: number;
  sipListening: string[];
}

/** The main thread over the measured run (`watch` → `unwatch`). */
export interface GatewayWatch {
  /** Event-loop utilization, 0–1. */
  utilization: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  /** Event-loop pauses over `thresholdMs`. */
  stalls: {
    thresholdMs: number;
    count: number;
    ms: number;
    onCpuMs: number;
    waitingMs: number;
    longestMs: number;
  };
  gc: GcPauses;
  /** The most the V8 heap took over the run (its total size, sampled every 100 ms), bytes. */
  heapPeakBytes: number;
  /** INVITEs sent again over the run (Timer A). */
  invitesResent: number;
}

export interface GcPauses {
  /** Durations (ms) of the major collections (mark-compact). */
  major: number[];
  /** Durations (ms) of the others: scavenges, incremental marking steps, weak callbacks. */
  minor: number[];
  /** Every pause: [start, epoch ms with sub-ms precision; duration, ms; 1 when major, else 0]. */
  timeline: [number, number, number][];
}

export interface GatewayCalls {
  /** [mediaSessionId, Call-ID] of every session created. */
  created: [string, string][];
  /** [Call-ID, epoch ms with sub-ms precision] of every call's first INVITE. */
  invites: [string, number][];
}

/** An event-loop pause longer than this counts as a stall. */
const STALL_MS = 20;

/** Heap in use after a full collection: what the gateway holds, garbage excluded. */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** GC pauses of this process while it runs (perf_hooks `gc` entries): major ones, and all the others. */
function watchGc(): { stop(): GcPauses } {
  const pauses: GcPauses = { major: [], minor: [], timeline: [] };
  // Entries come in after the fact: a collection that began before the watch (the bench's own full GC) is left out.
  const since = performance.now();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.startTime < since) continue;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      const major = kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR;
      (major ? pauses.major : pauses.minor).push(entry.duration);
      pauses.timeline.push([performance.timeOrigin + entry.startTime, entry.duration, major ? 1 : 0]);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      return pauses;
    },
  };
}

/**
 * The main thread's time on a CPU and waiting for one (ns, Linux's schedstat), or undefined elsewhere;
 * read through one open descriptor, as it is read 200 times a second.
 */
function schedstatReader(): { read(): [number, number] | undefined; close(): void } {
  let fd: number;
  try {
    fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  } catch {
    return { read: () => undefined, close() {} };
  }
  const buffer = Buffer.alloc(128);
  return {
    read() {
      const length = readSync(fd, buffer, 0, buffer.length, 0);
      const [onCpu, waiting] = buffer.toString('latin1', 0, length).split(' ');
      return [Number(onCpu), Number(waiting)];
    },
    close: () => closeSync(fd),
  };
}

/**
 * The main thread's stalls: times its event loop ran no timer for over STALL_MS, with how much of each
 * the thread spent on a CPU (callbacks one after another, garbage collection) and how much waiting for
 * one (other processes had both cores).
 */
function watchStalls(): { stop(): GatewayWatch['stalls'] } {
  const result = { thresholdMs: STALL_MS, count: 0, ms: 0, onCpuMs: 0, waitingMs: 0, longestMs: 0 };
  const schedstat = schedstatReader();
  let last = performance.now();
  let lastSched = schedstat.read();
  const timer = setInterval(() => {
    const now = performance.now();
    const sched = schedstat.read();
    if (now - last > STALL_MS) {
      result.count++;
      result.ms += now - last;
      result.longestMs = Math.max(result.longestMs, now - last);
      if (sched !== undefined && lastSched !== undefined) {
        result.onCpuMs += (sched[0] - lastSched[0]) / 1e6;
        result.waitingMs += (sched[1] - lastSched[1]) / 1e6;
      }
    }
    last = now;
    lastSched = sched;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      schedstat.close();
      return result;
    },
  };
}

/**
 * With `TELEGATE_BENCH_SIP_PROFILE=<file>`, a V8 CPU profile of the gateway during the outbound run
 * (open it in Chrome DevTools or speedscope), and beside it (`.heapprofile` for `.cpuprofile`) a
 * sampling profile of what the run allocated.
 */
async function startProfiler(): Promise<{ stop(): Promise<void> } | undefined> {
  const file = process.env.TELEGATE_BENCH_SIP_PROFILE;
  if (file === undefined || file === '') return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  await post('HeapProfiler.enable');
  // Every 32 KiB allocated on average; objects collected since count too, so this is the allocation, not what is kept.
  await post('HeapProfiler.startSampling', {
    samplingInterval: 32 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      const { profile: heap } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
      writeFileSync(file.replace(/(\.cpuprofile)?$/, '.heapprofile'), JSON.stringify(heap));
      session.disconnect();
    },
  };
}

const config = JSON.parse(process.env.TELEGATE_BENCH_CONFIG ?? '{}') as Partial<GatewayConfig>;
const built = await buildGateway(config);
await built.app.listen({ port: 0, host: '127.0.0.1' });
// As the CLI does before it listens: the webhook delivery thread starts now, not with the first event.
await built.start();

const sip = built.gateway.sip as EmbeddedSipBackend;
const calls: GatewayCalls = { created: [], invites: [] };
const invited = new Set<string>();
let invitesResent = 0;
sip.onTrace((direction, message) => {
  if (direction === 'out' && message.kind === 'request' && message.method === 'INVITE') {
    const callId = message.headers.get('call-id');
    if (callId === undefined) return;
    if (invited.has(callId)) invitesResent++;
    else {
      invited.add(callId);
      calls.invites.push([callId, performance.timeOrigin + performance.now()]);
    }
  }
});
built.gateway.calls.on('created', ({ session }) =>
  calls.created.push([session.mediaSessionId, session.callId]),
);

let watching:
  | {
      loopDelay: IntervalHistogram;
      elu: ReturnType<typeof nodePerformance.eventLoopUtilization>;
      stalls: ReturnType<typeof watchStalls>;
      gc: ReturnType<typeof watchGc>;
      profiler: Awaited<ReturnType<typeof startProfiler>>;
      resentBefore: number;
      heapPeak: { bytes: number };
      heapTimer: NodeJS.Timeout;
    }
  | undefined;

async function handle(message: GatewayRequest): Promise<unknown> {
  switch (message.kind) {
    case 'token':
      return { token: await built.issueToken(message.phone, { scopes: [...ALL_SCOPES] }) };
    case 'cpu':
      return process.cpuUsage();
    case 'heap': {
      const heapUsed = heapAfterGc();
      if (message.snapshot !== undefined) writeHeapSnapshot(message.snapshot);
      return { heapUsed };
    }
    case 'watch': {
      const profiler = await startProfiler();
      // How late the event loop ran its callbacks: the gateway's share of post-dial delay spent waiting for a core.
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      const heapPeak = { bytes: 0 };
      watching = {
        loopDelay,
        elu: nodePerformance.eventLoopUtilization(),
        stalls: watchStalls(),
        gc: watchGc(),
        profiler,
        resentBefore: invitesResent,
        heapPeak,
        heapTimer: setInterval(() => {
          heapPeak.bytes = Math.max(heapPeak.bytes, getHeapStatistics().total_heap_size);
        }, 100),
      };
      return {};
    }
    case 'unwatch': {
      if (watching === undefined) throw new Error('not watching');
      const { loopDelay, elu, stalls, gc, profiler, resentBefore, heapPeak, heapTimer } = watching;
      watching = undefined;
      clearInterval(heapTimer);
      const result: GatewayWatch = {
        gc: gc.stop(),
        utilization: nodePerformance.eventLoopUtilization(elu).utilization,
        loopDelayMs: {
          p50: loopDelay.percentile(50) / 1e6,
          p99: loopDelay.percentile(99) / 1e6,
          max: loopDelay.max / 1e6,
        },
        stalls: stalls.stop(),
        invitesResent: invitesResent - resentBefore,
        heapPeakBytes: heapPeak.bytes,
      };
      loopDelay.disable();
      await profiler?.stop();
      return result;
    }
    case 'calls':
      return calls;
    case 'close':
      await built.close();
      return {};
  }
}

answerRequests(handle, 'close');

const ready: GatewayReady = {
  port: (built.app.server.address() as AddressInfo).port,
  sipListening: built.sipListening,
};
process.send?.({ kind: 'ready', ...ready });
