import { randomBytes } from 'node:crypto';

/**
 * Gives one outgoing RTP stream a single SSRC and continuous sequence numbers
 * and timestamps, whatever happens upstream (RFC 3550 §8.2: a new SSRC from
 * the device after an ICE restart or a track change; RFC 3550 §5.1: the
 * receiver expects sequence numbers to step by one). When the incoming source
 * changes, the offsets are recomputed so the output carries on from the last
 * packet sent, with the marker bit set (a new talkspurt, RFC 3551 §4.1).
 */
export class RtpStreamRewriter {
  readonly ssrc: number;
  #sourceSsrc: number | undefined;
  #sequenceOffset = 0;
  #timestampOffset = 0;
  #lastSequence: number;
  #lastTimestamp: number;
  #started = false;
  /** Timestamp step assumed between the last packet of one source and the first of the next (20 ms). */
  #frameTicks: number;

  /** Set by `rewrite`: whether the packet just rewritten should carry the marker bit. */
  marker = false;
  sequence = 0;
  timestamp = 0;

  constructor(clockRate: number, ssrc = randomBytes(4).readUInt32BE(0)) {
    this.ssrc = ssrc;
    this.#frameTicks = Math.round(clockRate / 50);
    this.#lastSequence = randomBytes(2).readUInt16BE(0);
    this.#lastTimestamp = randomBytes(4).readUInt32BE(0);
  }

  /** The codec's clock rate, for the gap left at a source change. */
  set clockRate(rate: number) {
    this.#frameTicks = Math.round(rate / 50);
  }

  /** Maps one packet's source fields to the output stream's; results in `sequence`, `timestamp`, `marker`. */
  rewrite(sourceSsrc: number, sequence: number, timestamp: number, marker: boolean): void {
    let newSource = false;
    if (sourceSsrc !== this.#sourceSsrc) {
      this.#sourceSsrc = sourceSsrc;
      const nextSequence = this.#started ? this.#lastSequence + 1 : this.#lastSequence;
      const nextTimestamp = this.#started ? this.#lastTimestamp + this.#frameTicks : this.#lastTimestamp;
      this.#sequenceOffset = (nextSequence - sequence) & 0xffff;
      this.#timestampOffset = (nextTimestamp - timestamp) >>> 0;
      newSource = true;
    }
    this.sequence = (sequence + this.#sequenceOffset) & 0xffff;
    this.timestamp = (timestamp + this.#timestampOffset) >>> 0;
    this.marker = marker || newSource;
    // Only a packet newer than the last one moves the stream on (reordering keeps the offsets).
    const ahead = (this.sequence - this.#lastSequence) & 0xffff;
    if (!this.#started || (ahead !== 0 && ahead < 0x8000)) {
      this.#lastSequence = this.sequence;
      this.#lastTimestamp = this.timestamp;
    }
    this.#started = true;
  }
}
