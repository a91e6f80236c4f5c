import type { SessionStatus } from '../api-types.js';
import type { ProvisionalStatus } from '../network/sip-backend.js';

/** States before the call is answered (a CANCEL or a decline still applies). */
export const PRE_ANSWER: ReadonlySet<SessionStatus> = new Set<SessionStatus>([
  'Initial',
  'InProgress',
  'Ringing',
  'Proceeding',
  'Waiting',
]);

/** States of an answered call (a BYE ends it). */
export const ESTABLISHED: ReadonlySet<SessionStatus> = new Set<SessionStatus>([
  'Connected',
  'Hold',
  'Resume',
]);

/** Provisional responses from the far end (RFC 3261 §21.1): 183 early media, 180 alerting, 181 forwarded, 182 queued. */
export function provisionalStatus(code: ProvisionalStatus): SessionStatus {
  switch (code) {
    case 180:
      return 'Ringing';
    case 181:
      return 'Proceeding';
    case 182:
      return 'Waiting';
    case 183:
      return 'InProgress';
  }
}

/**
 * A final failure of the gateway's INVITE as a session status. 480 means the
 * callee could not be reached, unless the phone was already ringing (then
 * nobody picked up), following RFC 3398's mapping of ISUP causes 18–20.
 */
export function failureStatus(code: number, wasAlerting: boolean): SessionStatus {
  if (code === 486 || code === 600) return 'Busy';
  if (code === 603) return 'Declined';
  if (code === 408) return 'NoAnswer';
  if (code === 480) return wasAlerting ? 'NoAnswer' : 'NotReachable';
  if (code === 404 || code === 410 || code === 484 || code === 604) return 'NotReachable';
  if (code === 487) return 'SessionCancelled';
  return 'Failed';
}

/** Statuses a client may request with `updateSessionStatus`. */
export const CLIENT_SETTABLE: ReadonlySet<SessionStatus> = new Set<SessionStatus>([
  'InProgress',
  'Ringing',
  'Waiting',
  'Connected',
  'Hold',
  'Resume',
  'Declined',
  'Busy',
]);
