/**
 * Post-dial delay read from a capture of the loopback wire: from the first
 * segment of each createSession request reaching the gateway's HTTP port to
 * the first INVITE of its call leaving for the SIP peer. Both ends are kernel
 * time stamps of one capture, so the delay is the gateway's alone (its socket
 * queue, its event loop and its work), whatever the calling application's own
 * scheduling did before the request was written.
 */
import type { CapturedDatagram, CapturedSegment } from './pcap.ts';

export interface PostDialInput {
  /** TCP segments of the capture (only the requests' first segments are needed). */
  segments: CapturedSegment[];
  /** UDP datagrams of the capture (only the INVITEs are needed). */
  datagrams: CapturedDatagram[];
  /** The gateway's HTTP port. */
  apiPort: number;
  /** The SIP peer's port the INVITEs go to. */
  sipPeerPort: number;
  /** The Call-ID of the call a request's `x-correlator` created (undefined when it created none). */
  callIdOf(correlator: string): string | undefined;
}

export interface PostDial {
  /** One per call whose request and INVITE were both captured, in ms, in the order of the requests. */
  delaysMs: number[];
  /** The Call-ID of each of those calls, in the same order. */
  callIds: string[];
  /** createSession requests seen on the wire (with an `x-correlator`). */
  requests: number;
  /** Requests whose call's INVITE was not captured (or that created no call). */
  unmatched: number;
}

const POST = Buffer.from('POST ');
const INVITE = Buffer.from('INVITE ');
const CORRELATOR = /\r\nx-correlator[ \t]*:[ \t]*([^\r\n]+)/i;
// `i` is Call-ID's compact form (RFC 3261 §7.3.3).
const CALL_ID = /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]+)/i;

function firstTimes(
  packets: Iterable<{ timeNs: number; dstPort: number; payload: Buffer }>,
  port: number,
  start: Buffer,
  header: RegExp,
): Map<string, number> {
  const first = new Map<string, number>();
  for (const { timeNs, dstPort, payload } of packets) {
    if (dstPort !== port || !payload.subarray(0, start.length).equals(start)) continue;
    const value = header.exec(payload.toString('latin1'))?.[1]?.trim();
    // A retransmission (TCP or SIP's Timer A) repeats the first: only the first counts.
    if (value !== undefined && !first.has(value)) first.set(value, timeNs);
  }
  return first;
}

export function postDialDelays(input: PostDialInput): PostDial {
  const requests = firstTimes(input.segments, input.apiPort, POST, CORRELATOR);
  const invites = firstTimes(input.datagrams, input.sipPeerPort, INVITE, CALL_ID);
  const delaysMs: number[] = [];
  const callIds: string[] = [];
  let unmatched = 0;
  for (const [correlator, requestNs] of requests) {
    const callId = input.callIdOf(correlator);
    const inviteNs = callId === undefined ? undefined : invites.get(callId);
    if (callId === undefined || inviteNs === undefined) unmatched++;
    else {
      delaysMs.push((inviteNs - requestNs) / 1e6);
      callIds.push(callId);
    }
  }
  return { delaysMs, callIds, requests: requests.size, unmatched };
}
