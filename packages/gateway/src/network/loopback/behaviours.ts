import type { ProvisionalStatus } from '../sip-backend.js';

/** One provisional response the far end sends, `atMs` after the INVITE. */
export interface ProgressStep {
  status: ProvisionalStatus;
  atMs: number;
  /** Carry an SDP answer (early media); default: true for 183. */
  sdp?: boolean;
}

/**
 * How a called number behaves in the loopback SIP world. Times are
 * milliseconds after the INVITE, on the gateway's clock.
 */
export type FarEndBehaviour =
  /** Alerts (`progress`, default 183 with SDP at 100 ms, 180 at 200 ms), then answers at `answerAtMs` (default 1000). */
  | { kind: 'answer'; progress?: readonly ProgressStep[]; answerAtMs?: number }
  /** Alerts and never answers (the gateway's no-answer timer or a CANCEL ends it). */
  | { kind: 'ring-forever'; progress?: readonly ProgressStep[] }
  /** 486 Busy Here at `atMs` (default 100). */
  | { kind: 'busy'; atMs?: number }
  /** 603 Decline at `atMs` (default 100), e.g. after ringing. */
  | { kind: 'decline'; atMs?: number; progress?: readonly ProgressStep[] }
  /** Rings (180 at 100 ms) and gives up with 480 at `atMs` (default 30 000). */
  | { kind: 'no-answer'; atMs?: number }
  /** Any final status (404, 480, 500, 503, ...) at `atMs` (default 100). */
  | { kind: 'reject'; status: number; reason?: string; atMs?: number; progress?: readonly ProgressStep[] };

export const DEFAULT_PROGRESS: readonly ProgressStep[] = [
  { status: 183, atMs: 100, sdp: true },
  { status: 180, atMs: 200 },
];

export { REASON_PHRASES, reasonPhrase } from '../../sip/message/reason-phrases.js';
