import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { decodeG711, encodeG711 } from '../../media/g711.js';
import { rtpPayloadBounds, rtpPayloadType, writeRtpPacket } from '../../media/rtp-packet.js';
import { ToneGenerator } from './tone.js';

export type G711Law = 'pcmu' | 'pcma';
const PAYLOAD_TYPE: Record<G711Law, number> = { pcmu: 0, pcma: 8 };
const LAW_OF: Record<number, G711Law> = { 0: 'pcmu', 8: 'pcma' };
const FRAME_SAMPLES = 160; // 20 ms at 8 kHz (RFC 3551 §4.5.14 default ptime)

/** A received RFC 4733 telephone-event packet. */
export interface ReceivedEvent {
  payloadType: number;
  event: number;
  end: boolean;
}

/**
 * The SIP side of a call in tests: a plain RTP endpoint on loopback that
 * sends a G.711 tone in 20 ms packets and decodes what it receives.
 */
export class RtpPeer {
  readonly address: string;
  readonly port: number;
  readonly #socket: Socket;
  #remote: { address: string; port: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sequence = Math.floor(Math.random() * 65_536);
  #timestamp = Math.floor(Math.random() * 2 ** 32);
  #ssrc = Math.floor(Math.random() * 2 ** 32);
  /** Decoded samples received, in arrival order. */
  received: number[] = [];
  events: ReceivedEvent[] = [];
  /** Payloads of other payload types (not G.711, not 4-byte events), as received; at most 500 kept. */
  payloads: { payloadType: number; payload: Buffer }[] = [];
  packets = 0;
  /** Payload types seen. */
  readonly payloadTypes = new Set<number>();
  /** Called with every RTP packet received (benchmarks); `record = false` then keeps nothing. */
  onPacket: ((payloadType: number, payload: Buffer) => void) | undefined;
  /** Whether to decode and keep what arrives (tests); benchmarks turn it off. */
  record = true;

  private constructor(socket: Socket, address: string) {
    this.#socket = socket;
    this.address = address;
    this.port = (socket.address() as AddressInfo).port;
    socket.on('message', (packet) => this.#receive(packet));
  }

  static async open(address = '127.0.0.1'): Promise<RtpPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port: 0 }, () => resolve());
    });
    socket.on('error', () => {});
    return new RtpPeer(socket, address);
  }

  /**
   * Plain RTP SDP (offer or answer) for this peer: G.711 (`laws`), optionally
   * Opus first on payload type 111, telephone-event on 101 (at 48 kHz with Opus alone).
   */
  sdp(
    options: { laws?: G711Law[]; opus?: boolean; direction?: string; telephoneEvent?: number | false } = {},
  ): string {
    const laws = options.laws ?? (options.opus ? [] : ['pcmu', 'pcma']);
    const dtmf = options.telephoneEvent === undefined ? 101 : options.telephoneEvent;
    const dtmfRate = options.opus && laws.length === 0 ? 48000 : 8000;
    const payloads = [
      ...(options.opus ? [111] : []),
      ...laws.map((l) => PAYLOAD_TYPE[l]),
      ...(dtmf === false ? [] : [dtmf]),
    ];
    return `${[
      'v=0',
      `o=peer 1 1 IN IP4 ${this.address}`,
      's=-',
      `c=IN IP4 ${this.address}`,
      't=0 0',
      `m=audio ${this.port} RTP/AVP ${payloads.join(' ')}`,
      ...(options.opus ? ['a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1'] : []),
      ...laws.map((l) => `a=rtpmap:${PAYLOAD_TYPE[l]} ${l.toUpperCase()}/8000`),
      ...(dtmf === false ? [] : [`a=rtpmap:${dtmf} telephone-event/${dtmfRate}`, `a=fmtp:${dtmf} 0-16`]),
      'a=ptime:20',
      `a=${options.direction ?? 'sendrecv'}`,
    ].join('\r\n')}\r\n`;
  }

  /** Sends to the `c=` address and `m=audio` port of `sdp` from now on. */
  setRemoteFromSdp(sdp: string): void {
    const address = /^c=IN IP[46] (\S+)/m.exec(sdp)?.[1];
    const port = Number(/^m=audio (\d+)/m.exec(sdp)?.[1]);
    if (address === undefined || !Number.isInteger(port))
      throw new Error('SDP has no c= address or m=audio port');
    this.#remote = { address, port };
  }

  /** Starts sending `frequency` Hz as G.711 `law`, one packet every 20 ms (until `stopTone`). */
  startTone(frequency: number, law: G711Law = 'pcmu'): void {
    this.stopTone();
    const tone = new ToneGenerator(frequency);
    let first = true;
    this.#timer = setInterval(() => {
      const payload = encodeG711(tone.next(FRAME_SAMPLES), law);
      this.sendRtp(PAYLOAD_TYPE[law], payload, first);
      first = false;
    }, 20);
  }

  stopTone(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends one RFC 4733 event packet (`end` marks the last of the event). */
  sendEvent(payloadType: number, event: number, end: boolean): void {
    const payload = Buffer.from([event, end ? 0x8a : 0x0a, 0x03, 0x20]);
    this.sendRtp(payloadType, payload, !end, false);
  }

  sendRtp(payloadType: number, payload: Uint8Array, marker = false, advance = true): void {
    if (this.#remote === undefined) return;
    const packet = writeRtpPacket(
      { marker, payloadType, sequence: this.#sequence, timestamp: this.#timestamp, ssrc: this.#ssrc },
      payload,
    );
    this.#sequence = (this.#sequence + 1) & 0xffff;
    if (advance) this.#timestamp = (this.#timestamp + FRAME_SAMPLES) >>> 0;
    this.#socket.send(packet, this.#remote.port, this.#remote.address);
  }

  clear(): void {
    this.received = [];
    this.events = [];
    this.payloads = [];
    this.packets = 0;
    this.payloadTypes.clear();
  }

  #receive(packet: Buffer): void {
    const bounds = rtpPayloadBounds(packet, { payloadStart: 0, payloadEnd: 0 });
    if (bounds === undefined) return;
    this.packets++;
    const payloadType = rtpPayloadType(packet);
    const payload = packet.subarray(bounds.payloadStart, bounds.payloadEnd);
    this.onPacket?.(payloadType, payload);
    if (!this.record) return;
    this.payloadTypes.add(payloadType);
    const law = LAW_OF[payloadType];
    if (law !== undefined) {
      for (const sample of decodeG711(payload, law)) this.received.push(sample);
    } else if (payload.length === 4) {
      this.events.push({ payloadType, event: payload[0]!, end: (payload[1]! & 0x80) !== 0 });
    } else if (this.payloads.length < 500) {
      this.payloads.push({ payloadType, payload: Buffer.from(payload) });
    }
  }

  async close(): Promise<void> {
    this.stopTone();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
