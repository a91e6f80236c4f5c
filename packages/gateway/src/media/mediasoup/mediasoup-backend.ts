import { availableParallelism, setPriority } from 'node:os';
import type { types } from 'mediasoup';
import { unavailable } from '../../errors.js';
import type { MediaBackend, MediaBackendStats } from '../../network/media-backend.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import { checkNiceValue, checkRealtimePriority, failureCode, setRealtime } from '../priority.js';
import {
  type CallCodecs,
  chooseCallCodecs,
  DEFAULT_OUTBOUND_CODECS,
  type RelayedCodecName,
  routerMediaCodecs,
  telephoneEventsOf,
} from './codecs.js';
import {
  type MediaListen,
  type MediasoupEndpointParts,
  MediasoupMediaEndpoint,
} from './mediasoup-endpoint.js';
import { checkWorkerBin } from './worker-bin.js';

/** The telephone-event payload type of the gateway's own offers (a late-offer INVITE), on both legs. */
const LATE_OFFER_TELEPHONE_EVENT = 101;

export interface MediasoupMediaBackendOptions {
  /** The mediasoup-worker binary (`npm run build:mediasoup-worker` prints it); default `MEDIASOUP_WORKER_BIN`. */
  workerBin?: string;
  /** Worker processes, each on its own core; default: the cores available. */
  workers?: number;
  /** UDP ports the transports take, both legs (default 40000–49999). */
  rtcMinPort?: number;
  rtcMaxPort?: number;
  /** Address the transports bind (default 127.0.0.1). */
  listenIp?: string;
  /** Address written in candidates and SDP when it differs from `listenIp` (NAT, 0.0.0.0). */
  announcedAddress?: string;
  /**
   * Codecs, in order, the gateway picks from a device's offer for an outgoing call; the RTP offer
   * to the SIP side carries that codec only (mediasoup relays, it does not transcode).
   * Default PCMU, PCMA, Opus: what a SIP network is most likely to accept.
   */
  outboundCodecs?: readonly RelayedCodecName[];
  /** Worker log level (default `warn`). */
  logLevel?: types.WorkerLogLevel;
  /**
   * The nice value the workers run at (`MEDIA_NICE`, -20 to 19; on Linux their main threads, which
   * relay the media). Default: the gateway's. Below it needs root or CAP_SYS_NICE.
   */
  nice?: number;
  /**
   * The SCHED_RR priority every thread of each worker runs at (`MEDIA_REALTIME`, 1 to 99; Linux,
   * through util-linux's `chrt`). It needs root, CAP_SYS_NICE or RLIMIT_RTPRIO.
   */
  realtime?: number;
}

/** Live mediasoup objects of a backend, from the workers' own observers: all zero after every call ended. */
export interface MediasoupMediaStats extends MediaBackendStats {
  workers: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

type Mediasoup = typeof import('mediasoup');

/**
 * mediasoup reads `MEDIASOUP_WORKER_BIN` once, when it is first loaded, and spawns that binary for
 * every worker of the process; it is loaded lazily so a gateway without it still starts.
 */
async function loadMediasoup(workerBin: string): Promise<Mediasoup> {
  process.env.MEDIASOUP_WORKER_BIN ??= workerBin;
  // The npm package's own installer must never run from here (it downloads).
  process.env.MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD ??= 'true';
  const mediasoup: Mediasoup = await import('mediasoup');
  if (mediasoup.workerBin !== workerBin) {
    throw new Error(
      `mediasoup in this process spawns ${mediasoup.workerBin}; a backend cannot use ${workerBin} as well`,
    );
  }
  return mediasoup;
}

/** Counts mediasoup objects as the workers create and close them. */
function countObjects(worker: types.Worker, stats: MediasoupMediaStats): void {
  const track = (
    observer: { once(event: 'close', listener: () => void): unknown },
    key: keyof MediasoupMediaStats,
  ) => {
    stats[key]++;
    observer.once('close', () => {
      stats[key]--;
    });
  };
  track(worker.observer, 'workers');
  worker.observer.on('newrouter', (router) => {
    track(router.observer, 'routers');
    router.observer.on('newtransport', (transport) => {
      track(transport.observer, 'transports');
      if (transport.type === 'webrtc') track(transport.observer, 'webRtcTransports');
      transport.observer.on('newproducer', (producer) => track(producer.observer, 'producers'));
      transport.observer.on('newconsumer', (consumer) => track(consumer.observer, 'consumers'));
    });
  });
}

function setWorkerNice(worker: types.Worker, nice: number): void {
  try {
    setPriority(worker.pid, nice);
  } catch (error) {
    const reason = failureCode(error);
    throw new Error(
      `cannot run the mediasoup workers at nice ${nice} (${reason}): a value below the gateway's own needs root or CAP_SYS_NICE`,
    );
  }
}

/**
 * The production media backend: mediasoup workers (one per core) relaying audio between a
 * WebRtcTransport towards the device and a PlainTransport towards the SIP side, one Router per call.
 */
export class MediasoupMediaBackend implements MediaBackend {
  readonly #workers: types.Worker[];
  readonly #listen: MediaListen;
  readonly #outboundCodecs: readonly RelayedCodecName[];
  readonly #endpoints = new Map<string, MediasoupMediaEndpoint>();
  readonly #routersPerWorker = new Map<types.Worker, number>();
  readonly #counts: MediasoupMediaStats;
  #next = 1;
  #closed = false;

  private constructor(
    workers: types.Worker[],
    listen: MediaListen,
    outboundCodecs: readonly RelayedCodecName[],
    counts: MediasoupMediaStats,
  ) {
    this.#workers = workers;
    this.#listen = listen;
    this.#outboundCodecs = outboundCodecs;
    this.#counts = counts;
    for (const worker of workers) {
      this.#routersPerWorker.set(worker, 0);
      worker.on('died', () => {
        // The worker's calls have lost their media; new calls go to the workers left.
        const index = this.#workers.indexOf(worker);
        if (index !== -1) this.#workers.splice(index, 1);
        for (const endpoint of [...this.#endpoints.values()]) {
          if (endpoint.router.closed) void endpoint.close();
        }
      });
    }
  }

  static async create(options: MediasoupMediaBackendOptions = {}): Promise<MediasoupMediaBackend> {
    const workerBin = checkWorkerBin(options.workerBin ?? process.env.MEDIASOUP_WORKER_BIN);
    if (options.nice !== undefined) checkNiceValue(options.nice);
    if (options.realtime !== undefined) checkRealtimePriority(options.realtime);
    const mediasoup = await loadMediasoup(workerBin);
    const rtcMinPort = options.rtcMinPort ?? 40_000;
    const rtcMaxPort = options.rtcMaxPort ?? 49_999;
    const listenIp = options.listenIp ?? '127.0.0.1';
    const listen: MediaListen = {
      listenIp,
      announcedAddress: options.announcedAddress ?? listenIp,
      rtcMinPort,
      rtcMaxPort,
    };
    const count = Math.max(1, options.workers ?? availableParallelism());
    const counts: MediasoupMediaStats = {
      workers: 0,
      endpoints: 0,
      udpSockets: 0,
      webRtcTransports: 0,
      routers: 0,
      transports: 0,
      producers: 0,
      consumers: 0,
    };
    const workers: types.Worker[] = [];
    try {
      for (let index = 0; index < count; index++) {
        const worker = await mediasoup.createWorker({
          logLevel: options.logLevel ?? 'warn',
          rtcMinPort,
          rtcMaxPort,
          // Debian 12's liburing is too old for the worker: it is built without io_uring.
          disableLiburing: true,
        });
        countObjects(worker, counts);
        workers.push(worker);
        if (options.nice !== undefined) setWorkerNice(worker, options.nice);
        if (options.realtime !== undefined) setRealtime(worker.pid, options.realtime, true);
      }
    } catch (error) {
      for (const worker of workers) worker.close();
      throw error;
    }
    return new MediasoupMediaBackend(
      workers,
      listen,
      options.outboundCodecs ?? DEFAULT_OUTBOUND_CODECS,
      counts,
    );
  }

  /** Live objects, for leak tests and metrics. */
  stats(): MediasoupMediaStats {
    let udpSockets = 0;
    for (const endpoint of this.#endpoints.values()) udpSockets += endpoint.localPorts.length;
    return { ...this.#counts, endpoints: this.#endpoints.size, udpSockets };
  }

  /** The process ids of the running workers, for reading their CPU time (`/proc/<pid>/stat`). */
  get workerPids(): number[] {
    return this.#workers.map((worker) => worker.pid);
  }

  /** Open endpoints by id. */
  get endpoints(): ReadonlyMap<string, MediasoupMediaEndpoint> {
    return this.#endpoints;
  }

  async createFromWebRtcOffer(offer: CheckedWebRtcSdp) {
    const call = chooseCallCodecs(
      offer.audio.codecs,
      telephoneEventsOf(offer, 'offer.sdp'),
      this.#outboundCodecs,
      'offer.sdp',
    );
    const placed = await this.#createRouter(routerMediaCodecs(call));
    return this.#open(
      await MediasoupMediaEndpoint.build(this.#parts(placed, call), (endpoint) =>
        endpoint.answerDeviceOffer(offer),
      ),
    );
  }

  async createFromRtpOffer(offer: CheckedRtpSdp) {
    // The SIP side's order of preference decides (RFC 3264 §6.1): Opus when it offers it first.
    const offered = offer.audio.codecs.map((c) => c.name as RelayedCodecName);
    const call = chooseCallCodecs(
      offer.audio.codecs,
      telephoneEventsOf(offer, 'rtpOffer'),
      offered,
      'rtpOffer',
    );
    const placed = await this.#createRouter(routerMediaCodecs(call));
    return this.#open(
      await MediasoupMediaEndpoint.build(this.#parts(placed, call), (endpoint) =>
        endpoint.answerSipOffer(offer),
      ),
    );
  }

  /**
   * A late-offer INVITE: both legs are offered PCMU alone, with 8 kHz telephone-events. Every
   * WebRTC endpoint has it (RFC 7874 §3); offering both laws would let the two answers pick
   * different ones, which mediasoup cannot convert. A SIP side that takes PCMA only answers
   * with no usable codec, and the call ends `Failed`.
   */
  async createOffers() {
    const call: CallCodecs = {
      audio: { payload: 0, name: 'pcmu', rate: 8000 },
      telephoneEvent: LATE_OFFER_TELEPHONE_EVENT,
    };
    const placed = await this.#createRouter(routerMediaCodecs(call));
    return this.#open(
      await MediasoupMediaEndpoint.build(this.#parts(placed, call), (endpoint) => endpoint.offerBoth()),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const endpoint of [...this.#endpoints.values()]) await endpoint.close();
    for (const worker of this.#workers) worker.close();
  }

  #parts(
    { router, worker }: { router: types.Router; worker: types.Worker },
    call: CallCodecs,
  ): MediasoupEndpointParts {
    return {
      id: `ms-${this.#next++}`,
      router,
      worker,
      call,
      listen: this.#listen,
      onClose: (endpoint) => {
        this.#endpoints.delete(endpoint.id);
      },
    };
  }

  #open<T extends { endpoint: MediasoupMediaEndpoint }>(negotiated: T): T {
    this.#endpoints.set(negotiated.endpoint.id, negotiated.endpoint);
    return negotiated;
  }

  /** A router on the least busy worker; the endpoint that owns it closes it. */
  async #createRouter(
    mediaCodecs: types.RouterRtpCodecCapability[],
  ): Promise<{ router: types.Router; worker: types.Worker }> {
    if (this.#closed) throw unavailable('the media backend is closed');
    let chosen: types.Worker | undefined;
    for (const worker of this.#workers) {
      if (chosen === undefined || this.#routersPerWorker.get(worker)! < this.#routersPerWorker.get(chosen)!) {
        chosen = worker;
      }
    }
    if (chosen === undefined) throw unavailable('no media worker is running');
    const worker = chosen;
    const router = await worker.createRouter({ mediaCodecs });
    this.#routersPerWorker.set(worker, this.#routersPerWorker.get(worker)! + 1);
    router.observer.once('close', () => {
      this.#routersPerWorker.set(worker, Math.max(0, (this.#routersPerWorker.get(worker) ?? 1) - 1));
    });
    return { router, worker };
  }
}

/** The mediasoup `MediaBackend`: starts its workers, then creates one router per call. */
export function createMediasoupMediaBackend(
  options: MediasoupMediaBackendOptions = {},
): Promise<MediasoupMediaBackend> {
  return MediasoupMediaBackend.create(options);
}
