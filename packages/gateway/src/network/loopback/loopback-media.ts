import type { AudioCodec } from '../../sdp/media-info.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import type { MediaBackend, MediaEndpoint } from '../media-backend.js';
import {
  type LocalIce,
  mirrorDirection,
  newLocalIce,
  newSessionId,
  OPUS,
  PCMA,
  PCMU,
  rtpSdp,
  webRtcSdp,
} from './sdp-builders.js';

export interface LoopbackMediaOptions {
  /** Address the fake endpoints advertise (default 203.0.113.100, TEST-NET-3). */
  address?: string;
}

/**
 * A media endpoint that negotiates like a real one (valid SDP answers with
 * ICE credentials, a DTLS fingerprint and a matching `a=setup`) but moves no
 * packets: enough for signalling tests and for `npm start` without RTP.
 */
export class LoopbackMediaEndpoint implements MediaEndpoint {
  readonly id: string;
  readonly ice: LocalIce = newLocalIce();
  closed = false;
  held = false;
  remoteHeld = false;
  webrtcRemote: CheckedWebRtcSdp | undefined;
  rtpRemote: CheckedRtpSdp | undefined;
  readonly #backend: LoopbackMediaBackend;
  readonly #sdpId = newSessionId();
  #version = 2;
  readonly #webrtcPort: number;
  readonly #rtpPort: number;
  #rtpCodec: AudioCodec = PCMU;
  #failureListener: ((reason: string) => void) | undefined;

  constructor(backend: LoopbackMediaBackend, id: string, ports: { webrtc: number; rtp: number }) {
    this.#backend = backend;
    this.id = id;
    this.#webrtcPort = ports.webrtc;
    this.#rtpPort = ports.rtp;
  }

  #assertOpen(): void {
    if (this.closed) throw new Error(`media endpoint ${this.id} is closed`);
  }

  /** The gateway's WebRTC answer to a device offer (RFC 8842: answer `active` to `actpass`). */
  answerWebRtc(offer: CheckedWebRtcSdp): string {
    this.webrtcRemote = offer;
    const codec = offer.audio.codecs[0]!;
    return webRtcSdp({
      address: this.#backend.address,
      port: this.#webrtcPort,
      ice: this.ice,
      setup: offer.audio.setup === 'active' ? 'passive' : 'active',
      mid: offer.audio.mid ?? '0',
      codecs: [codec],
      direction: mirrorDirection(offer.audio.direction),
      version: this.#version++,
      id: this.#sdpId,
    });
  }

  offerWebRtc(codecs: AudioCodec[] = [OPUS, PCMU, PCMA]): string {
    return webRtcSdp({
      address: this.#backend.address,
      port: this.#webrtcPort,
      ice: this.ice,
      setup: 'actpass',
      mid: '0',
      codecs,
      direction: 'sendrecv',
      version: this.#version++,
      id: this.#sdpId,
    });
  }

  offerRtp(direction: 'sendrecv' | 'sendonly' = 'sendrecv'): string {
    return rtpSdp({
      address: this.#backend.address,
      port: this.#rtpPort,
      codecs: [PCMU, PCMA],
      direction,
      version: this.#version++,
      id: this.#sdpId,
      name: 'WebRTC-to-SIP Call',
    });
  }

  answerRtp(offer: CheckedRtpSdp): string {
    this.rtpRemote = offer;
    this.#rtpCodec = offer.audio.codecs.find((c) => c.name === 'pcmu' || c.name === 'pcma') ?? this.#rtpCodec;
    return rtpSdp({
      address: this.#backend.address,
      port: this.#rtpPort,
      codecs: [this.#rtpCodec],
      direction: mirrorDirection(offer.audio.direction),
      version: this.#version++,
      id: this.#sdpId,
      name: 'SIP-to-WebRTC Call',
    });
  }

  async setRtpAnswer(answer: CheckedRtpSdp): Promise<void> {
    this.#assertOpen();
    this.rtpRemote = answer;
  }

  async setWebRtcAnswer(answer: CheckedWebRtcSdp): Promise<void> {
    this.#assertOpen();
    this.webrtcRemote = answer;
  }

  async renegotiateWebRtc(offer: CheckedWebRtcSdp): Promise<string> {
    this.#assertOpen();
    return this.answerWebRtc(offer);
  }

  async hold(held: boolean): Promise<string> {
    this.#assertOpen();
    this.held = held;
    return this.offerRtp(held ? 'sendonly' : 'sendrecv');
  }

  async updateRtp(offer: CheckedRtpSdp): Promise<string> {
    this.#assertOpen();
    this.remoteHeld = offer.audio.direction === 'sendonly' || offer.audio.direction === 'inactive';
    return this.answerRtp(offer);
  }

  onFailure(listener: (reason: string) => void): void {
    this.#failureListener = listener;
  }

  /** Plays the device's media failing (ICE/DTLS failed, page closed), as a real backend reports it. */
  fail(reason = 'the device closed its media connection'): void {
    const listener = this.#failureListener;
    this.#failureListener = undefined;
    if (!this.closed) listener?.(reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#failureListener = undefined;
    this.#backend.endpoints.delete(this.id);
  }
}

/** The loopback `MediaBackend`: tracks its open endpoints so tests can check none leaks. */
export class LoopbackMediaBackend implements MediaBackend {
  readonly address: string;
  readonly endpoints = new Map<string, LoopbackMediaEndpoint>();
  #next = 1;
  #port = 50_000;

  constructor(options: LoopbackMediaOptions = {}) {
    this.address = options.address ?? '203.0.113.100';
  }

  #create(): LoopbackMediaEndpoint {
    const id = `ep-${this.#next++}`;
    const ports = { webrtc: this.#port, rtp: this.#port + 2 };
    this.#port = this.#port >= 59_996 ? 50_000 : this.#port + 4;
    const endpoint = new LoopbackMediaEndpoint(this, id, ports);
    this.endpoints.set(id, endpoint);
    return endpoint;
  }

  async createFromWebRtcOffer(offer: CheckedWebRtcSdp) {
    const endpoint = this.#create();
    return { endpoint, webrtcAnswer: endpoint.answerWebRtc(offer), rtpOffer: endpoint.offerRtp() };
  }

  async createFromRtpOffer(offer: CheckedRtpSdp) {
    const endpoint = this.#create();
    return { endpoint, rtpAnswer: endpoint.answerRtp(offer), webrtcOffer: endpoint.offerWebRtc() };
  }

  async createOffers() {
    const endpoint = this.#create();
    return { endpoint, rtpOffer: endpoint.offerRtp(), webrtcOffer: endpoint.offerWebRtc([PCMU, PCMA]) };
  }

  async close(): Promise<void> {
    for (const endpoint of [...this.endpoints.values()]) await endpoint.close();
  }
}
