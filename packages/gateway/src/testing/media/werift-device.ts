import { randomBytes } from 'node:crypto';
import {
  ProtectionProfileAeadAes128Gcm,
  type RTCDtlsTransport,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  RtpHeader,
} from 'werift';
import { decodeG711, encodeG711 } from '../../media/g711.js';
import {
  RTP_HEADER_BYTES,
  type RtpBounds,
  rtpPayloadBounds,
  rtpPayloadType,
  writeRtpHeader,
} from '../../media/rtp-packet.js';
import { weriftPeerConfig } from '../../media/werift/peer-config.js';
import { SrtpFastPath, srtpPacketBytes } from '../../media/werift/srtp-fast-path.js';
import type { AudioCodec } from '../../sdp/media-info.js';
import { ToneGenerator } from './tone.js';

/** Codecs a Chromium offer lists for audio (a subset: no RED, CN or G.722), with Chromium's payload types. */
export const BROWSER_LIKE_CODECS: AudioCodec[] = [
  { payload: 111, name: 'opus', rate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
  { payload: 0, name: 'pcmu', rate: 8000 },
  { payload: 8, name: 'pcma', rate: 8000 },
  { payload: 110, name: 'telephone-event', rate: 48000 },
  { payload: 126, name: 'telephone-event', rate: 8000 },
];

export interface WeriftDeviceOptions {
  /** Codecs to offer or accept (default `BROWSER_LIKE_CODECS`). */
  codecs?: AudioCodec[];
  /** Remove the `a=ssrc` lines from the SDP this device sends (some devices signal none). */
  withoutSsrc?: boolean;
  /** Write `a=rtcp:9` (a port and no address, as some stacks do) into the SDP this device sends. */
  rtcpWithoutAddress?: boolean;
  /** Offer and accept only the AEAD_AES_128_GCM SRTP profile (RFC 7714), on werift's own SRTP. */
  aesGcmOnly?: boolean;
}

/**
 * A WebRTC device in tests: a werift peer on 127.0.0.1 that sends a G.711
 * tone over DTLS-SRTP and decodes the audio it receives. It reads incoming
 * RTP from the DTLS transport, so it hears the gateway whatever SSRC it uses.
 * Its SRTP is the gateway's fast path (DTLS once, then one AES cipher per
 * session), so many devices fit in a benchmark's process.
 */
export class WeriftDevice {
  readonly pc: RTCPeerConnection;
  readonly #options: WeriftDeviceOptions;
  #transceiver: RTCRtpTransceiver | undefined;
  #transport: RTCDtlsTransport | undefined;
  #srtp: SrtpFastPath | undefined;
  readonly #bounds: RtpBounds = { payloadStart: 0, payloadEnd: 0 };
  #timer: NodeJS.Timeout | undefined;
  #ssrc = randomBytes(4).readUInt32BE(0);
  #sequence = randomBytes(2).readUInt16BE(0);
  #timestamp = randomBytes(4).readUInt32BE(0);
  /** Called with every RTP packet received (benchmarks); `record = false` then keeps nothing. */
  onPacket: ((payloadType: number, payload: Buffer) => void) | undefined;
  /** Whether to decode and keep what arrives (tests); benchmarks turn it off. */
  record = true;
  received: number[] = [];
  /** RFC 4733 event numbers received. */
  events: number[] = [];
  /** Payloads of other codecs (Opus), as received; at most 500 kept. */
  payloads: { payloadType: number; payload: Buffer }[] = [];
  packets = 0;

  constructor(options: WeriftDeviceOptions = {}) {
    this.#options = options;
    this.pc = new RTCPeerConnection(
      weriftPeerConfig(
        { bindAddress: '127.0.0.1', announcedAddress: '127.0.0.1' },
        options.codecs ?? BROWSER_LIKE_CODECS,
      ),
    );
  }

  /** An offer with complete candidates (calls out of the device). */
  async createOffer(): Promise<string> {
    this.#transceiver = this.pc.addTransceiver('audio', { direction: 'sendrecv' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.#outgoing(this.pc.localDescription!.sdp);
  }

  /** A new offer on the same connection, optionally restarting ICE. */
  async reoffer(
    options: { iceRestart?: boolean; direction?: 'sendrecv' | 'sendonly' } = {},
  ): Promise<string> {
    if (options.direction !== undefined) this.#transceiver!.setDirection(options.direction);
    await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: options.iceRestart ?? false }));
    return this.#outgoing(this.pc.localDescription!.sdp);
  }

  async acceptAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.#listen();
    // werift 0.24.4 skips the connectivity checks of an ICE restart while DTLS is up: run them.
    const transport = this.#transport;
    if (transport?.state === 'connected' && transport.iceTransport.connection.nominated === undefined) {
      transport.iceTransport.start().catch(() => {});
    }
  }

  /** Answers the gateway's offer (calls into the device). */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    this.#transceiver = this.pc.getTransceivers()[0];
    this.#transceiver?.setDirection('sendrecv');
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    this.#listen();
    return this.#outgoing(this.pc.localDescription!.sdp);
  }

  /** Resolves when DTLS is up (rejects after `timeoutMs`). */
  async connected(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pc.connectionState !== 'connected') {
      if (Date.now() > deadline)
        throw new Error(`device not connected after ${timeoutMs} ms (${this.pc.connectionState})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The codec the connection negotiated for sending (the first of the answer). */
  get codec(): { payloadType: number; name: string } {
    const codec = this.#transceiver?.codecs[0];
    if (codec === undefined) throw new Error('no negotiated codec');
    return { payloadType: codec.payloadType, name: codec.name.toLowerCase() };
  }

  /** Uses a new SSRC from the next packet on (as after a track change). */
  changeSsrc(): void {
    this.#ssrc = randomBytes(4).readUInt32BE(0);
  }

  /** Sends `frequency` Hz in the negotiated G.711 codec, 20 ms per packet. */
  startTone(frequency: number): void {
    this.stopTone();
    const { payloadType, name } = this.codec;
    if (name !== 'pcmu' && name !== 'pcma') throw new Error(`the device sends G.711 only, not ${name}`);
    const tone = new ToneGenerator(frequency);
    this.#timer = setInterval(() => {
      const transport = this.#transport;
      if (transport === undefined || transport.state !== 'connected') return;
      this.sendRaw(payloadType, encodeG711(tone.next(160), name));
      this.#timestamp = (this.#timestamp + 160) >>> 0;
    }, 20);
  }

  /** The negotiated payload type of `name` (`telephone-event` at the audio codec's rate). */
  payloadTypeOf(name: string): number | undefined {
    const rate = this.#transceiver?.codecs[0]?.clockRate;
    return this.#transceiver?.codecs.find(
      (c) => c.name.toLowerCase() === name && (name !== 'telephone-event' || c.clockRate === rate),
    )?.payloadType;
  }

  /** Sends one RTP packet as is (an RFC 4733 event, an Opus frame...). */
  sendRaw(payloadType: number, payload: Buffer, marker = false): void {
    const transport = this.#transport;
    if (transport === undefined || transport.state !== 'connected') return;
    const srtp = this.#srtp;
    if (srtp?.active) {
      const length = RTP_HEADER_BYTES + payload.length;
      const packet = Buffer.allocUnsafe(srtpPacketBytes(length));
      writeRtpHeader(packet, marker, payloadType, this.#sequence, this.#timestamp, this.#ssrc);
      payload.copy(packet, RTP_HEADER_BYTES);
      this.#sequence = (this.#sequence + 1) & 0xffff;
      srtp.send(packet, length);
      return;
    }
    const header = new RtpHeader({
      payloadType,
      marker,
      ssrc: this.#ssrc,
      sequenceNumber: this.#sequence,
      timestamp: this.#timestamp,
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    void transport.sendRtp(payload, header);
  }

  stopTone(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  clear(): void {
    this.received = [];
    this.events = [];
    this.payloads = [];
    this.packets = 0;
  }

  async close(): Promise<void> {
    this.stopTone();
    this.#srtp?.close();
    await this.pc.close();
  }

  #listen(): void {
    const transport = this.#transceiver?.dtlsTransport;
    if (transport === undefined || transport === this.#transport) return;
    this.#transport = transport;
    if (this.#options.aesGcmOnly) {
      (transport as unknown as { srtpProfiles: number[] }).srtpProfiles = [ProtectionProfileAeadAes128Gcm];
      transport.onRtp.subscribe((packet) => this.#received(packet.header.payloadType, packet.payload));
      return;
    }
    this.#srtp = new SrtpFastPath(transport, (packet) => {
      const bounds = rtpPayloadBounds(packet, this.#bounds);
      if (bounds === undefined) return;
      this.#received(rtpPayloadType(packet), packet.subarray(bounds.payloadStart, bounds.payloadEnd));
    });
    transport.onRtp.subscribe((packet) => this.#received(packet.header.payloadType, packet.payload));
  }

  #received(payloadType: number, payload: Buffer): void {
    this.packets++;
    this.onPacket?.(payloadType, payload);
    if (!this.record) return;
    const codec = this.#transceiver?.codecs.find((c) => c.payloadType === payloadType);
    const name = codec?.name.toLowerCase();
    if (name === 'pcmu' || name === 'pcma') {
      for (const sample of decodeG711(payload, name)) this.received.push(sample);
    } else if (name === 'telephone-event' && payload.length >= 4) {
      this.events.push(payload[0]!);
    } else if (this.payloads.length < 500) {
      this.payloads.push({ payloadType, payload: Buffer.from(payload) });
    }
  }

  #outgoing(sdp: string): string {
    let out = sdp.replace(/\r?\n/g, '\r\n');
    if (this.#options.withoutSsrc) out = out.replace(/^a=ssrc(-group)?:.*\r\n/gm, '');
    if (this.#options.rtcpWithoutAddress) {
      out = out
        .replace(/^a=rtcp:.*\r\n/gm, '')
        .replace(/^(m=audio [\s\S]*?\r\nc=[^\r]*\r\n)/m, '$1a=rtcp:9\r\n');
    }
    return out;
  }
}
