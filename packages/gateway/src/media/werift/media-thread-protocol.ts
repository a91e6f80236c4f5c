import {
  ApiError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  ServiceUnavailableError,
  UnprocessableError,
} from '../../errors.js';
import type { MediaBackendStats } from '../../network/media-backend.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import type { WeriftMediaOptions } from './options.js';

/** What a media thread starts with (its `workerData`). */
export interface MediaThreadData {
  /** The thread's own werift options: its share of the RTP port range. */
  options: WeriftMediaOptions;
  /** The nice value the thread runs at (`MEDIA_NICE`); unset, the one it started with. */
  nice?: number;
  /** The SCHED_RR priority the thread runs at (`MEDIA_REALTIME`); unset, a normal thread. */
  realtime?: number;
}

/** The `MediaEndpoint` methods a thread runs for the main thread. */
export type EndpointMethod =
  | 'setRtpAnswer'
  | 'setWebRtcAnswer'
  | 'renegotiateWebRtc'
  | 'hold'
  | 'updateRtp'
  | 'close';

/** What the main thread posts to a media thread; each gets one reply with the same id. */
export type MediaThreadRequest =
  | { op: 'create'; id: number; kind: 'webrtc'; offer: CheckedWebRtcSdp }
  | { op: 'create'; id: number; kind: 'rtp'; offer: CheckedRtpSdp }
  | { op: 'create'; id: number; kind: 'offers' }
  | { op: 'call'; id: number; endpoint: string; method: EndpointMethod; arg?: unknown }
  | { op: 'diagnostics'; id: number; reset: boolean }
  | { op: 'close'; id: number };

/** How a media thread's event loop fares: its garbage collections and its waits for a core. */
export interface MediaThreadDiagnostics {
  /** Garbage collections since the last reset, their total and longest pause. */
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** Time the thread was runnable but had no core, since it started (Linux schedstat; NaN elsewhere). */
  runDelayMs: number;
  /** The nice value the thread runs at. */
  nice: number;
  /** Its SCHED_RR priority, 0 for a normal thread (NaN where /proc does not say). */
  realtime: number;
}

/** An error as it crosses the thread boundary. */
export type ThreadError =
  | { api: true; status: number; code: string; message: string; headers: Record<string, string> }
  | { api: false; name: string; message: string };

/**
 * What a media thread posts back: a request's result or error, with the thread's
 * counts right after it (so `stats()` on the main thread is exact once a call
 * returns), or an endpoint's failure, when it happens.
 */
export type MediaThreadReply =
  | { id: number; value: unknown; stats: MediaBackendStats }
  | { id: number; error: ThreadError; stats: MediaBackendStats }
  | { failure: string; reason: string }
  /** Something the main thread logs: the thread could not take the nice value or priority asked for. */
  | { warning: string };

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof ApiError) {
    return {
      api: true,
      status: error.status,
      code: error.code,
      message: error.message,
      headers: { ...error.headers },
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { api: false, name: e.name, message: e.message };
}

/** The error again, of the class the gateway tells apart (`InvalidArgumentError` → 488, …). */
export function fromThreadError(error: ThreadError): Error {
  if (!error.api) {
    const plain = new Error(error.message);
    plain.name = error.name;
    return plain;
  }
  const options = { code: error.code, headers: error.headers };
  switch (error.status) {
    case 400:
      return new InvalidArgumentError(error.message, options);
    case 404:
      return new NotFoundError(error.message, options);
    case 409:
      return new ConflictError(error.message, options);
    case 422:
      return new UnprocessableError(error.message, options);
    case 501:
      return new NotImplementedError(error.message, options);
    case 503:
      return new ServiceUnavailableError(error.message, options);
    default:
      return new ApiError(error.status, error.code, error.message, { headers: error.headers });
  }
}
