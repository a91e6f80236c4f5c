import { Worker } from 'node:worker_threads';
import { type Logger, silentLogger } from '../../core/logger.js';
import { workerWithDefaultYoungGeneration } from '../../core/young-generation.js';
import { unavailable } from '../../errors.js';
import type { MediaBackend, MediaBackendStats, MediaEndpoint } from '../../network/media-backend.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import { PortAllocator, portBlocks } from '../port-allocator.js';
import { checkNiceValue, checkRealtimePriority } from '../priority.js';
import {
  type EndpointMethod,
  fromThreadError,
  type MediaThreadData,
  type MediaThreadDiagnostics,
  type MediaThreadReply,
  type MediaThreadRequest,
} from './media-thread-protocol.js';
import {
  type ResolvedWeriftMediaOptions,
  resolveWeriftMediaOptions,
  type WeriftMediaOptions,
} from './options.js';

export interface ThreadedWeriftMediaOptions extends WeriftMediaOptions {
  /** Worker threads relaying media (`MEDIA_THREADS`), each with its share of the port range. Default 2. */
  threads?: number;
  /** Where a thread that stops on an error is reported (default: nowhere). */
  logger?: Logger;
  /**
   * The nice value of the media threads (`MEDIA_NICE`, -20 to 19; on Linux each thread's own, the
   * main thread keeps the process's). Default: the process's. Below it needs root or CAP_SYS_NICE;
   * a thread that cannot take it logs a warning and relays at the one it has.
   */
  nice?: number;
  /**
   * The SCHED_RR priority of the media threads (`MEDIA_REALTIME`, 1 to 99; Linux, through
   * util-linux's `chrt`): they run before every normal thread on the machine. It needs root,
   * CAP_SYS_NICE or RLIMIT_RTPRIO; a thread that cannot take it logs a warning and relays as a
   * normal one. The process's other threads but the main one are the caller's to set
   * (`setHelperThreadsRealtime`).
   */
  realtime?: number;
}

const NOTHING: MediaBackendStats = { endpoints: 0, udpSockets: 0, webRtcTransports: 0 };

/** Why a thread's endpoints fail when the thread itself ends. */
const THREAD_ENDED = 'the media thread ended';

/** Request payloads, without the id the thread matches its reply with. */
type Request = MediaThreadRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

/**
 * The thread's entry. From the built package it is the compiled module beside
 * this one; run from the TypeScript sources (this repository's tests), it is
 * loaded through tsx, which is then among the dev dependencies.
 */
function startThread(data: MediaThreadData): Worker {
  return workerWithDefaultYoungGeneration(() => {
    if (!import.meta.url.endsWith('.ts')) {
      return new Worker(new URL('./media-thread.js', import.meta.url), { workerData: data });
    }
    const entry = JSON.stringify(new URL('./media-thread.ts', import.meta.url).href);
    return new Worker(`import('tsx/esm/api').then(({ tsImport }) => tsImport(${entry}, ${entry}));`, {
      eval: true,
      workerData: data,
    });
  });
}

/** One worker thread running a werift backend on its share of the ports. */
class MediaThread {
  readonly #data: MediaThreadData;
  readonly #logger: Logger;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  /** Failure listeners of this thread's live endpoints, by endpoint id. */
  readonly failures = new Map<string, ((reason: string) => void)[]>();
  /** The thread's counts after its last reply. */
  stats: MediaBackendStats = NOTHING;
  /** Endpoints being created on the thread or open there: where the next call goes. */
  load = 0;
  /** Counts the thread's starts: an endpoint of an earlier one ended with it. */
  generation = 0;

  constructor(data: MediaThreadData, logger: Logger) {
    this.#data = data;
    this.#logger = logger;
  }

  get running(): boolean {
    return this.#worker !== undefined;
  }

  request(request: Request): Promise<unknown> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref(); // kept alive while a request is in flight
      worker.postMessage({ ...request, id });
    });
  }

  /** Ends the thread at once (`'exit'` then fails what it held). */
  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }

  /** Closes the thread's backend (when the thread runs) and ends the thread. */
  async close(): Promise<void> {
    if (this.#worker === undefined) return;
    await this.request({ op: 'close' }).catch(() => {});
    // Its endpoints were closed on purpose: ending the thread is no failure of theirs.
    this.failures.clear();
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = startThread(this.#data);
    this.#worker = worker;
    this.generation++;
    worker.on('message', (reply: MediaThreadReply) => this.#onReply(reply));
    worker.on('error', (error) =>
      this.#logger.error(
        { err: error, rtpPorts: `${this.#data.options.rtpPortMin}-${this.#data.options.rtpPortMax}` },
        'media thread stopped on an error; its calls end',
      ),
    );
    worker.on('exit', () => this.#onExit(worker));
    return worker;
  }

  #onReply(reply: MediaThreadReply): void {
    if ('warning' in reply) {
      this.#logger.warn(
        { rtpPorts: `${this.#data.options.rtpPortMin}-${this.#data.options.rtpPortMax}` },
        reply.warning,
      );
      return;
    }
    if ('failure' in reply) {
      for (const listener of this.failures.get(reply.failure) ?? []) listener(reply.reason);
      return;
    }
    this.stats = reply.stats;
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if ('error' in reply) pending.reject(fromThreadError(reply.error));
    else pending.resolve(reply.value);
  }

  /** A thread that ends takes its endpoints with it: their calls fail; the next request starts a new one. */
  #onExit(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    this.stats = NOTHING;
    for (const pending of this.#pending.values()) pending.reject(unavailable('The media thread ended.'));
    this.#pending.clear();
    const failures = [...this.failures.values()];
    this.failures.clear();
    for (const listeners of failures) for (const listener of listeners) listener(THREAD_ENDED);
  }
}

/** An endpoint living on a media thread: each call runs there. */
class ThreadedEndpoint implements MediaEndpoint {
  readonly id: string;
  readonly #thread: MediaThread;
  readonly #remoteId: string;
  /** The start of the thread the endpoint lives on. */
  readonly #generation: number;
  #closing: Promise<void> | undefined;

  constructor(thread: MediaThread, remoteId: string, id: string) {
    this.#thread = thread;
    this.#remoteId = remoteId;
    this.#generation = thread.generation;
    this.id = id;
    thread.failures.set(remoteId, []);
  }

  setRtpAnswer(answer: CheckedRtpSdp): Promise<void> {
    return this.#call('setRtpAnswer', answer) as Promise<void>;
  }

  setWebRtcAnswer(answer: CheckedWebRtcSdp): Promise<void> {
    return this.#call('setWebRtcAnswer', answer) as Promise<void>;
  }

  renegotiateWebRtc(offer: CheckedWebRtcSdp): Promise<string> {
    return this.#call('renegotiateWebRtc', offer) as Promise<string>;
  }

  hold(held: boolean): Promise<string> {
    return this.#call('hold', held) as Promise<string>;
  }

  updateRtp(offer: CheckedRtpSdp): Promise<string> {
    return this.#call('updateRtp', offer) as Promise<string>;
  }

  onFailure(listener: (reason: string) => void): void {
    this.#thread.failures.get(this.#remoteId)?.push(listener);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (this.#alive) await this.#call('close');
      } catch {
        // The thread ended: so did the endpoint.
      } finally {
        this.#thread.failures.delete(this.#remoteId);
        this.#thread.load--;
      }
    })();
    return this.#closing;
  }

  /** Whether the thread it lives on still runs (a later start of the thread does not have it). */
  get #alive(): boolean {
    return this.#thread.running && this.#thread.generation === this.#generation;
  }

  async #call(method: EndpointMethod, arg?: unknown): Promise<unknown> {
    // As the endpoint itself answers once closed, with no thread started for it.
    if (!this.#alive) throw new Error(`media endpoint ${this.id} is closed`);
    return this.#thread.request({ op: 'call', endpoint: this.#remoteId, method, arg });
  }
}

/**
 * The werift media backend spread over worker threads: each thread runs its
 * own werift backend (ICE, DTLS, SRTP and the relay, with its own event loop
 * and garbage collector) on a share of the RTP port range, so media uses
 * several cores and never waits for the thread that answers the API and
 * signals calls, nor holds it up. A call's endpoint lives on the thread with
 * the fewest endpoints when it is created; the main thread forwards each of
 * its calls there. A thread that ends fails its calls' media (the calls end)
 * and is started again by the next call.
 */
export class ThreadedWeriftMediaBackend implements MediaBackend {
  readonly options: ResolvedWeriftMediaOptions & { threads: number };
  readonly #threads: MediaThread[];
  #next = 1;
  #closed = false;

  constructor(options: ThreadedWeriftMediaOptions = {}) {
    const resolved = resolveWeriftMediaOptions(options);
    const threads = options.threads ?? 2;
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`media threads ${threads} must be 1 or more`);
    const { first, count: blocks } = portBlocks(resolved.rtpPortMin, resolved.rtpPortMax);
    if (blocks < threads) {
      throw new RangeError(
        `RTP port range ${resolved.rtpPortMin}-${resolved.rtpPortMax} holds fewer than 4 ports per media thread`,
      );
    }
    if (options.nice !== undefined) checkNiceValue(options.nice);
    if (options.realtime !== undefined) checkRealtimePriority(options.realtime);
    this.options = { ...resolved, threads };
    // Each thread gets whole blocks of four ports, the first one even (as PortAllocator hands them out).
    this.#threads = Array.from({ length: threads }, (_, i) => {
      const from = Math.floor((blocks * i) / threads);
      const to = Math.floor((blocks * (i + 1)) / threads);
      return new MediaThread(
        {
          options: {
            bindAddress: resolved.bindAddress,
            announcedAddress: resolved.announcedAddress,
            rtpPortMin: first + from * PortAllocator.BLOCK,
            rtpPortMax: first + to * PortAllocator.BLOCK - 1,
          },
          ...(options.nice === undefined ? {} : { nice: options.nice }),
          ...(options.realtime === undefined ? {} : { realtime: options.realtime }),
        },
        options.logger ?? silentLogger,
      );
    });
  }

  createFromWebRtcOffer(offer: CheckedWebRtcSdp) {
    return this.#create<{ webrtcAnswer: string; rtpOffer: string }>({ op: 'create', kind: 'webrtc', offer });
  }

  createFromRtpOffer(offer: CheckedRtpSdp) {
    return this.#create<{ rtpAnswer: string; webrtcOffer: string }>({ op: 'create', kind: 'rtp', offer });
  }

  createOffers() {
    return this.#create<{ rtpOffer: string; webrtcOffer: string }>({ op: 'create', kind: 'offers' });
  }

  /** The threads' counts together, as of their last replies (exact once every call made has returned). */
  stats(): MediaBackendStats {
    const total = { ...NOTHING };
    for (const thread of this.#threads) {
      total.endpoints += thread.stats.endpoints;
      total.udpSockets += thread.stats.udpSockets;
      total.webRtcTransports += thread.stats.webRtcTransports;
    }
    return total;
  }

  /** Starts every media thread now (each loads werift) rather than with its first call. */
  async start(): Promise<void> {
    if (this.#closed) return;
    await Promise.all(this.#threads.map((thread) => thread.request({ op: 'diagnostics', reset: false })));
  }

  /**
   * How each running media thread fares (garbage collections since the last reset, time spent
   * waiting for a core), for monitoring and benchmarks. `reset` starts the GC figures anew.
   */
  async threadDiagnostics(reset = false): Promise<MediaThreadDiagnostics[]> {
    const running = this.#threads.filter((thread) => thread.running);
    return (await Promise.all(
      running.map((thread) => thread.request({ op: 'diagnostics', reset })),
    )) as MediaThreadDiagnostics[];
  }

  /**
   * Ends media thread `index` (0-based) at once, as a crash would: its endpoints report a
   * failure and their calls end; the next call started there starts it again. For tests.
   */
  async terminateThread(index: number): Promise<void> {
    await this.#threads[index]?.terminate();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#threads.map((thread) => thread.close()));
  }

  async #create<T>(request: Request): Promise<T & { endpoint: MediaEndpoint }> {
    if (this.#closed) throw unavailable('The media backend is shut down.');
    const thread = this.#threads.reduce((a, b) => (b.load < a.load ? b : a));
    thread.load++;
    let created: T & { endpoint: string };
    try {
      created = (await thread.request(request)) as T & { endpoint: string };
    } catch (error) {
      thread.load--;
      throw error;
    }
    const { endpoint, ...sdp } = created;
    const threaded = new ThreadedEndpoint(thread, endpoint, `media-${this.#next++}`);
    if (this.#closed) {
      await threaded.close();
      throw unavailable('The media backend is shut down.');
    }
    return { ...(sdp as T), endpoint: threaded };
  }
}

/** The werift media backend on worker threads (`options.threads`, default 2). */
export function createThreadedWeriftMediaBackend(
  options: ThreadedWeriftMediaOptions = {},
): ThreadedWeriftMediaBackend {
  return new ThreadedWeriftMediaBackend(options);
}
