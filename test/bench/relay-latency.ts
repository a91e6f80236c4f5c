/**
 * The latency a relay adds, from a capture of its traffic: each RTP packet
 * entering the relay is matched with the one it sends on, and the time
 * between the two kernel time stamps is the relay's (its socket queue, its
 * event loop, its SRTP and rewriting), with nothing of the endpoints' own
 * work. SRTP leaves the RTP header in clear, so the same matching serves
 * the WebRTC side.
 */
import type { CapturedDatagram } from './pcap.ts';

/** One direction of one relayed call, named by the two endpoints' own UDP ports. */
export interface RelayFlow<Direction extends string = string> {
  direction: Direction;
  /** The sending endpoint's port: packets from it enter the relay. */
  from: number;
  /** The receiving endpoint's port: packets to it leave the relay. */
  to: number;
}

export interface RtpHeaderFields {
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/**
 * The RTP header fields of a datagram, or undefined for anything else on the same ports:
 * STUN and DTLS (first byte below 128), RTCP (packet types 192–223, RFC 5761 §4).
 */
export function rtpHeaderOf(payload: Buffer): RtpHeaderFields | undefined {
  if (payload.length < 12 || payload[0]! >> 6 !== 2) return undefined;
  const second = payload[1]!;
  if (second >= 192 && second <= 223) return undefined;
  return {
    sequence: payload.readUInt16BE(2),
    timestamp: payload.readUInt32BE(4),
    ssrc: payload.readUInt32BE(8),
  };
}

interface TimedRtp extends RtpHeaderFields {
  timeNs: number;
  /** The datagram's length: a relay changes it by a constant per direction (an SRTP tag, header extensions). */
  length: number;
}

export interface DirectionLatency {
  /** Milliseconds from a packet entering the relay to its copy leaving it, one per matched packet. */
  latenciesMs: number[];
  /**
   * RTP packets that entered the relay in the capture (after its first `headMs`, before its last `tailMs`), each once: a
   * packet sent again with the same sequence number and timestamp (a retransmission the relay's
   * NACK asked for) is the same packet.
   */
  entered: number;
  /** Packets that entered again (the same sequence number and timestamp), not counted in `entered`. */
  repeated: number;
  /** Those matched with a packet leaving the relay. */
  matched: number;
}

/**
 * Matches the packets of each flow. A relay may rewrite SSRC, sequence numbers and
 * timestamps (both backends do), but by a constant per stream, and changes a packet's
 * length by a constant too. Those offsets are learnt per flow by a vote: each packet
 * leaving is compared with every packet that entered in the second before it, and the
 * differences (sequence number, timestamp, length) most often seen win, ties going to
 * the shortest delay. When the senders vary their packets' lengths, only the true pairs
 * agree on one length difference, so the vote holds even when the relay is late by many
 * packet intervals; with constant lengths it holds while most packets cross the relay in
 * less than one interval. Every packet leaving is then paired with the one that entered
 * with its sequence number and timestamp less those offsets. A pair out of causal order,
 * or a packet leaving twice, is not counted.
 *
 * The packets of the capture's first `headMs` are not counted either: tcpdump may miss packets
 * of its first moment (a packet entering then was seen, its relayed copy 0.2 ms later was not, in
 * 2 of about 35,000 entering packets at 100 calls, and never later in the capture), which would
 * count as a loss.
 */
export function relayLatencies<Direction extends string>(
  datagrams: readonly CapturedDatagram[],
  flows: readonly RelayFlow<Direction>[],
  options: { headMs?: number; tailMs?: number } = {},
): Map<Direction, DirectionLatency> {
  // Packets entering in the capture's last `tailMs` may leave after it: they are not counted.
  let startNs = Number.POSITIVE_INFINITY;
  let endNs = Number.NEGATIVE_INFINITY;
  for (const datagram of datagrams) {
    startNs = Math.min(startNs, datagram.timeNs);
    endNs = Math.max(endNs, datagram.timeNs);
  }
  const enteredFrom = startNs + (options.headMs ?? 0) * 1e6;
  const enteredBy = endNs - (options.tailMs ?? 0) * 1e6;
  const counted = (timeNs: number) => timeNs >= enteredFrom && timeNs <= enteredBy;
  const bySource = new Map<number, TimedRtp[]>();
  const byDestination = new Map<number, TimedRtp[]>();
  for (const datagram of datagrams) {
    const header = rtpHeaderOf(datagram.payload);
    if (header === undefined) continue;
    const packet = { timeNs: datagram.timeNs, length: datagram.length, ...header };
    push(bySource, datagram.srcPort, packet);
    push(byDestination, datagram.dstPort, packet);
  }
  const result = new Map<Direction, DirectionLatency>();
  for (const flow of flows) {
    let total = result.get(flow.direction);
    if (total === undefined) {
      total = { latenciesMs: [], entered: 0, repeated: 0, matched: 0 };
      result.set(flow.direction, total);
    }
    const entering = byTime(bySource.get(flow.from) ?? []);
    const leaving = byTime(byDestination.get(flow.to) ?? []);
    // Each packet by its first copy: a later one with the same sequence number and timestamp is a retransmission.
    const entered = new Map<string, TimedRtp>();
    for (const packet of entering) {
      const key = `${packet.sequence}/${packet.timestamp}`;
      if (entered.has(key)) {
        if (counted(packet.timeNs)) total.repeated++;
        continue;
      }
      entered.set(key, packet);
      if (counted(packet.timeNs)) total.entered++;
    }
    const offsets = learnOffsets(entering, leaving);
    if (offsets === undefined) continue;
    for (const packet of leaving) {
      const key = `${(packet.sequence - offsets.sequence) & 0xffff}/${(packet.timestamp - offsets.timestamp) >>> 0}`;
      const source = entered.get(key);
      if (source === undefined || packet.timeNs < source.timeNs || !counted(source.timeNs)) continue;
      entered.delete(key);
      total.matched++;
      total.latenciesMs.push((packet.timeNs - source.timeNs) / 1e6);
    }
  }
  return result;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const byTime = (packets: TimedRtp[]): TimedRtp[] => [...packets].sort((a, b) => a.timeNs - b.timeNs);

/** How far back a packet leaving is compared with packets that entered, to learn the offsets. */
const VOTE_WINDOW_NS = 1e9;

function learnOffsets(
  entering: readonly TimedRtp[],
  leaving: readonly TimedRtp[],
): { sequence: number; timestamp: number } | undefined {
  // Keyed by sequence number and length differences (a number: no string per comparison);
  // the timestamp difference of the first pair stands for its key's (constant for true pairs).
  const votes = new Map<number, { count: number; delayNs: number; timestamp: number }>();
  let first = 0;
  let last = -1;
  for (const packet of leaving) {
    while (last + 1 < entering.length && entering[last + 1]!.timeNs <= packet.timeNs) last++;
    while (first <= last && entering[first]!.timeNs < packet.timeNs - VOTE_WINDOW_NS) first++;
    for (let i = first; i <= last; i++) {
      const source = entering[i]!;
      const key =
        ((packet.sequence - source.sequence) & 0xffff) * 0x10000 + ((packet.length - source.length) & 0xffff);
      const vote = votes.get(key);
      if (vote === undefined)
        votes.set(key, {
          count: 1,
          delayNs: packet.timeNs - source.timeNs,
          timestamp: (packet.timestamp - source.timestamp) >>> 0,
        });
      else {
        vote.count++;
        vote.delayNs += packet.timeNs - source.timeNs;
      }
    }
  }
  let best: number | undefined;
  let bestVote = { count: 0, delayNs: Number.POSITIVE_INFINITY, timestamp: 0 };
  for (const [key, vote] of votes) {
    if (vote.count > bestVote.count || (vote.count === bestVote.count && vote.delayNs < bestVote.delayNs)) {
      best = key;
      bestVote = vote;
    }
  }
  if (best === undefined) return undefined;
  return { sequence: Math.floor(best / 0x10000), timestamp: bestVote.timestamp };
}

/**
 * The longest time in milliseconds with no RTP packet from any of `senders` (ports): when the
 * senders are many calls' endpoints, a long silence means they stalled together and then sent
 * what was due at once, a burst the relay then works through.
 */
export function longestSilenceMs(
  datagrams: readonly CapturedDatagram[],
  senders: ReadonlySet<number>,
): number {
  const times: number[] = [];
  for (const datagram of datagrams) {
    if (senders.has(datagram.srcPort) && rtpHeaderOf(datagram.payload) !== undefined)
      times.push(datagram.timeNs);
  }
  times.sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  return longest / 1e6;
}
