import { randomBytes, randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { invalidArgument } from '../../errors.js';
import type { MediaEndpoint } from '../../network/media-backend.js';
import { audioMedia, type DtlsSetup, type MediaDirection } from '../../sdp/media-info.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import { DeviceLegFailure } from '../device-leg-failure.js';
import { type CallCodecs, checkAnsweredCodec, legRtpCapabilities, producerRtpParameters } from './codecs.js';
import { plainRtpDescription, type SdpOrigin, webRtcDescription } from './sdp-writers.js';

/** Where the transports listen and what they announce; shared by every endpoint of a backend. */
export interface MediaListen {
  listenIp: string;
  announcedAddress: string;
  rtcMinPort: number;
  rtcMaxPort: number;
}

/** The plain RTP leg's far end: where the SIP side receives RTP and RTCP. */
interface SipRemote {
  address: string;
  port: number;
  rtcpPort?: number;
}

/** The mid the gateway gives the SIP leg's producer: the SIP side sends no MID, the worker latches its SSRC. */
const SIP_LEG_MID = 'sip';

const sameRemote = (a: SipRemote, b: SipRemote): boolean =>
  a.address === b.address && a.port === b.port && a.rtcpPort === b.rtcpPort;

const isUnspecified = (address: string): boolean => address === '0.0.0.0' || address === '::';

const mirror = (direction: MediaDirection): MediaDirection =>
  direction === 'sendonly' ? 'recvonly' : direction === 'recvonly' ? 'sendonly' : direction;
const receives = (direction: MediaDirection): boolean => direction === 'sendrecv' || direction === 'recvonly';

function newOrigin(): SdpOrigin {
  return { sessionId: BigInt(`0x${randomBytes(7).toString('hex')}`).toString(), version: 1 };
}

/** The device's signalled stream, when its SDP names one (`a=ssrc:<id> cname:<cname>`). */
function signalledStream(sdp: CheckedWebRtcSdp, field: string): { ssrc?: number; cname?: string } {
  const ssrcs = audioMedia(sdp, field).ssrcs ?? [];
  const cname = ssrcs.find((s) => s.attribute === 'cname');
  const first = cname ?? ssrcs[0];
  if (first === undefined) return {};
  const ssrc = Number(first.id);
  if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffff_ffff) return {};
  return { ssrc, ...(cname?.value ? { cname: cname.value } : {}) };
}

/** The far end of an RTP description, with its RTCP port (RFC 3605 `a=rtcp`, else port + 1) unless muxed. */
function sipRemoteOf(sdp: CheckedRtpSdp, field: string, rtcpMux: boolean): SipRemote {
  const media = audioMedia(sdp, field);
  if (sdp.audio.port === 0) throw invalidArgument(`${field} audio m-line is disabled (port 0)`);
  if (rtcpMux) return { address: sdp.audio.address, port: sdp.audio.port };
  const rtcpPort = media.rtcp?.port ?? sdp.audio.port + 1;
  return { address: sdp.audio.address, port: sdp.audio.port, rtcpPort };
}

/** The DTLS role the gateway takes in its answer, and the device's role as mediasoup wants it. */
function dtlsRolesForAnswer(offered: DtlsSetup): { setup: DtlsSetup; remote: types.DtlsRole } {
  // RFC 8842 §5.3: answer `actpass` with either; the gateway prefers being the DTLS server (passive).
  return offered === 'passive'
    ? { setup: 'active', remote: 'server' }
    : { setup: 'passive', remote: 'client' };
}

export interface MediasoupEndpointParts {
  id: string;
  router: types.Router;
  /** The worker the router runs on. */
  worker: types.Worker;
  call: CallCodecs;
  listen: MediaListen;
  onClose: (endpoint: MediasoupMediaEndpoint) => void;
}

/**
 * One call's media on mediasoup: a Router holding a WebRtcTransport towards the device and a
 * PlainTransport towards the SIP side, a producer for what each leg sends and a consumer on the
 * other leg relaying it. Closing the router closes all of them.
 */
export class MediasoupMediaEndpoint implements MediaEndpoint {
  readonly id: string;
  readonly router: types.Router;
  readonly #worker: types.Worker;
  readonly call: CallCodecs;
  readonly #listen: MediaListen;
  readonly #onClose: (endpoint: MediasoupMediaEndpoint) => void;
  readonly #webRtcOrigin = newOrigin();
  readonly #rtpOrigin = newOrigin();
  readonly #sending = {
    cname: randomUUID(),
    streamId: `telegate-${randomUUID()}`,
    trackId: randomUUID(),
  };
  #webRtcMid = '0';
  #webRtcTransport: types.WebRtcTransport | undefined;
  #plainTransport: types.PlainTransport | undefined;
  #plainRtcpMux = false;
  #sipRemote: SipRemote | undefined;
  #deviceProducer: types.Producer | undefined;
  #sipProducer: types.Producer | undefined;
  #toSipConsumer: types.Consumer | undefined;
  #toDeviceConsumer: types.Consumer | undefined;
  #deviceFingerprint: string | undefined;
  /** The SSRC the device last signalled (`a=ssrc`), to notice a renumbered stream in a re-offer. */
  #deviceSignalledSsrc: number | undefined;
  /** The gateway's side of the DTLS handshake, kept across renegotiations (RFC 8842 §5.5). */
  #localSetup: DtlsSetup = 'passive';
  /** The device's ICE username fragment: a new one in a re-offer is an ICE restart (RFC 8839 §4.4.1.1.1). */
  #lastDeviceUfrag: string | undefined;
  /** What the device last asked for, from its point of view. */
  #deviceDirection: MediaDirection = 'sendrecv';
  /** What the SIP side last asked for, from its point of view. */
  #sipDirection: MediaDirection = 'sendrecv';
  #localHold = false;
  #closed = false;
  readonly #failure = new DeviceLegFailure();

  private constructor(parts: MediasoupEndpointParts) {
    this.id = parts.id;
    this.router = parts.router;
    this.#worker = parts.worker;
    this.call = parts.call;
    this.#listen = parts.listen;
    this.#onClose = parts.onClose;
  }

  /** Builds an endpoint on `router`; any failure closes the router, so nothing is left behind. */
  static async build<T>(
    parts: MediasoupEndpointParts,
    negotiate: (endpoint: MediasoupMediaEndpoint) => Promise<T>,
  ): Promise<{ endpoint: MediasoupMediaEndpoint } & T> {
    const endpoint = new MediasoupMediaEndpoint(parts);
    try {
      return { endpoint, ...(await negotiate(endpoint)) };
    } catch (error) {
      await endpoint.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Local ports this endpoint holds (WebRTC, RTP, RTCP), for tests that look for leaks. */
  get localPorts(): number[] {
    const ports = [
      ...(this.#webRtcTransport?.iceCandidates.map((c) => c.port) ?? []),
      ...(this.#plainTransport ? [this.#plainTransport.tuple.localPort] : []),
      ...(this.#plainTransport?.rtcpTuple ? [this.#plainTransport.rtcpTuple.localPort] : []),
    ];
    return ports;
  }

  // ---- outgoing call: the device offers, the SIP side answers ------------------------------------

  /** The gateway's WebRTC answer and RTP offer for a device's offer. */
  async answerDeviceOffer(offer: CheckedWebRtcSdp): Promise<{ webrtcAnswer: string; rtpOffer: string }> {
    this.#webRtcMid = offer.audio.mid ?? '0';
    const roles = dtlsRolesForAnswer(offer.audio.setup);
    this.#localSetup = roles.setup;
    const webRtc = await this.#createWebRtcTransport();
    await webRtc.connect({ dtlsParameters: this.#remoteDtls(offer, roles.remote) });
    // ICE-lite waits for the device's checks: a device that never reaches it must still end the call.
    this.#failure.awaitConnection();
    this.#deviceFingerprint = offer.audio.fingerprint.hash;
    this.#deviceDirection = offer.audio.direction;
    await this.#produceFromDevice(offer, 'offer.sdp');
    await this.#createPlainTransport(false);
    await this.#produceFromSip();
    await this.#consumeBothWays();
    return {
      webrtcAnswer: this.#describeWebRtc(roles.setup, mirror(offer.audio.direction)),
      rtpOffer: this.#describeRtp('sendrecv'),
    };
  }

  async setRtpAnswer(answer: CheckedRtpSdp): Promise<void> {
    this.#assertOpen();
    checkAnsweredCodec(answer.audio.codecs, this.call, 'rtpAnswer');
    const remote = sipRemoteOf(answer, 'rtpAnswer', this.#plainRtcpMux);
    const current = this.#sipRemote;
    if (current !== undefined && !sameRemote(current, remote)) {
      // The offer named our port already; only a new offer can move the leg (RFC 6337 §3.1.1).
      throw invalidArgument('rtpAnswer moves the media of an answered call: a new offer is needed');
    }
    await this.#connectSipLeg(remote);
    this.#sipDirection = answer.audio.direction;
    await this.#applyFlow();
  }

  // ---- incoming call: the SIP side offers, the device answers ------------------------------------

  /** The gateway's RTP answer and WebRTC offer for the SIP side's offer. */
  async answerSipOffer(offer: CheckedRtpSdp): Promise<{ rtpAnswer: string; webrtcOffer: string }> {
    const rtcpMux = audioMedia(offer, 'rtpOffer').rtcpMux !== undefined;
    const remote = sipRemoteOf(offer, 'rtpOffer', rtcpMux);
    await this.#createPlainTransport(rtcpMux);
    await this.#connectSipLeg(remote);
    this.#sipDirection = offer.audio.direction;
    await this.#offerSipStreamToDevice();
    return {
      rtpAnswer: this.#describeRtp(mirror(offer.audio.direction)),
      webrtcOffer: this.#describeWebRtc('actpass', 'sendrecv'),
    };
  }

  // ---- incoming call without an offer: the gateway offers both sides ---------------------------

  /**
   * The gateway's RTP offer (for the 200 OK; its answer comes in the ACK through `setRtpAnswer`)
   * and WebRTC offer (for the device) of a late-offer INVITE. Both offer the call's one codec:
   * mediasoup does not transcode, so the two answers must agree without seeing each other.
   * The SIP side's address is known from its answer only, so nothing is sent there before it.
   */
  async offerBoth(): Promise<{ rtpOffer: string; webrtcOffer: string }> {
    await this.#createPlainTransport(false);
    await this.#offerSipStreamToDevice();
    return {
      rtpOffer: this.#describeRtp('sendrecv'),
      webrtcOffer: this.#describeWebRtc('actpass', 'sendrecv'),
    };
  }

  /** The SIP side's producer and the device's transport consuming it, for the gateway's WebRTC offer. */
  async #offerSipStreamToDevice(): Promise<void> {
    await this.#produceFromSip();
    await this.#createWebRtcTransport();
    this.#toDeviceConsumer = await this.#webRtcTransport!.consume({
      producerId: this.#sipProducer!.id,
      rtpCapabilities: legRtpCapabilities(this.call),
    });
    await this.#applyFlow();
  }

  async setWebRtcAnswer(answer: CheckedWebRtcSdp): Promise<void> {
    this.#assertOpen();
    const webRtc = this.#requireWebRtc();
    if (this.#deviceProducer !== undefined)
      throw invalidArgument('answer.sdp: the call already has an answer');
    checkAnsweredCodec(answer.audio.codecs, this.call, 'answer.sdp');
    // The device answered our `actpass`: `active` makes it the DTLS client (RFC 8842 §5.3).
    const remoteRole: types.DtlsRole = answer.audio.setup === 'passive' ? 'server' : 'client';
    this.#localSetup = answer.audio.setup === 'passive' ? 'active' : 'passive';
    await webRtc.connect({ dtlsParameters: this.#remoteDtls(answer, remoteRole) });
    this.#failure.awaitConnection();
    this.#deviceFingerprint = answer.audio.fingerprint.hash;
    this.#deviceDirection = answer.audio.direction;
    await this.#produceFromDevice(answer, 'answer.sdp');
    this.#toSipConsumer = await this.#plainTransport!.consume({
      producerId: this.#deviceProducer!.id,
      rtpCapabilities: legRtpCapabilities(this.call),
    });
    await this.#applyFlow();
  }

  // ---- mid-call -----------------------------------------------------------------------------------

  async renegotiateWebRtc(offer: CheckedWebRtcSdp): Promise<string> {
    this.#assertOpen();
    const webRtc = this.#requireWebRtc();
    checkAnsweredCodec(offer.audio.codecs, this.call, 'offer.sdp');
    if (this.#deviceFingerprint !== undefined && offer.audio.fingerprint.hash !== this.#deviceFingerprint) {
      // The DTLS association is bound to the first certificate; a new one needs a new call.
      throw invalidArgument('offer.sdp changes the DTLS fingerprint of the call');
    }
    if (this.#deviceProducer === undefined) {
      // A re-offer before the first answer is a glare the signalling layer resolves, not media.
      throw invalidArgument('offer.sdp arrives before the device answered the previous offer');
    }
    const iceRestart = offer.audio.iceUfrag !== this.#lastDeviceUfrag;
    if (iceRestart) await webRtc.restartIce();
    this.#lastDeviceUfrag = offer.audio.iceUfrag;
    await this.#followDeviceStream(offer);
    this.#deviceDirection = offer.audio.direction;
    await this.#applyFlow();
    this.#webRtcMid = offer.audio.mid ?? this.#webRtcMid;
    return this.#describeWebRtc(this.#localSetup, mirror(offer.audio.direction));
  }

  async hold(held: boolean): Promise<string> {
    this.#assertOpen();
    this.#localHold = held;
    await this.#applyFlow();
    return this.#describeRtp(held ? 'sendonly' : 'sendrecv');
  }

  async updateRtp(offer: CheckedRtpSdp): Promise<string> {
    this.#assertOpen();
    checkAnsweredCodec(offer.audio.codecs, this.call, 'rtpOffer');
    if (isUnspecified(offer.audio.address)) {
      // RFC 2543 hold (c=0.0.0.0, RFC 3264 §8.4): the far end stays where it was and wants no media.
      this.#sipDirection = 'inactive';
    } else {
      await this.#connectSipLeg(sipRemoteOf(offer, 'rtpOffer', this.#plainRtcpMux));
      this.#sipDirection = offer.audio.direction;
    }
    await this.#applyFlow();
    return this.#describeRtp(mirror(this.#sipDirection));
  }

  onFailure(listener: (reason: string) => void): void {
    this.#failure.onFailure(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure.close();
    // Closing the router closes its transports, producers and consumers in the worker.
    this.router.close();
    this.#onClose(this);
    // The worker answers requests in order: once it answered the next one, the router's
    // sockets are closed, so the ports are free when close() resolves.
    if (!this.#worker.closed) await this.#worker.getResourceUsage().catch(() => undefined);
  }

  // ---- internals ----------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new Error(`media endpoint ${this.id} is closed`);
  }

  #requireWebRtc(): types.WebRtcTransport {
    if (this.#webRtcTransport === undefined) throw new Error(`media endpoint ${this.id} has no WebRTC leg`);
    return this.#webRtcTransport;
  }

  #listenInfo(): types.TransportListenInfo {
    const { listenIp, announcedAddress, rtcMinPort, rtcMaxPort } = this.#listen;
    return {
      protocol: 'udp',
      ip: listenIp,
      ...(announcedAddress === listenIp ? {} : { announcedAddress }),
      portRange: { min: rtcMinPort, max: rtcMaxPort },
    };
  }

  async #createWebRtcTransport(): Promise<types.WebRtcTransport> {
    const transport = await this.router.createWebRtcTransport({
      listenInfos: [this.#listenInfo()],
      enableUdp: true,
      enableTcp: false,
    });
    transport.on('dtlsstatechange', (state) => this.#onDtlsState(state));
    transport.on('icestatechange', (state) => this.#onIceState(state));
    this.#webRtcTransport = transport;
    return transport;
  }

  /**
   * `connected` ends the wait for the device (`CONNECT_TIMEOUT_MS`); `failed` (the handshake
   * failed, or the device's certificate does not match its fingerprint) and `closed` (the device sent DTLS close_notify: its page or
   * peer connection closed) are final: the call has no media left.
   */
  #onDtlsState(state: types.DtlsState): void {
    if (state === 'connected') this.#failure.connected();
    else if (state === 'failed') this.#failure.fail('ICE or DTLS with the device failed');
    else if (state === 'closed') this.#failure.fail('the device closed its media connection');
  }

  /** `disconnected` (consent lost, RFC 7675) may recover: it counts once it lasted the grace time. */
  #onIceState(state: types.IceState): void {
    if (state === 'disconnected') this.#failure.lost('the media connection with the device was lost');
    else this.#failure.recovered();
  }

  async #createPlainTransport(rtcpMux: boolean): Promise<void> {
    this.#plainRtcpMux = rtcpMux;
    this.#plainTransport = await this.router.createPlainTransport({
      listenInfo: this.#listenInfo(),
      ...(rtcpMux ? {} : { rtcpListenInfo: this.#listenInfo() }),
      rtcpMux,
      // The SIP side's address comes from its SDP (RFC 3264), not from its first packet.
      comedia: false,
    });
  }

  #remoteDtls(sdp: CheckedWebRtcSdp, role: types.DtlsRole): types.DtlsParameters {
    this.#lastDeviceUfrag = sdp.audio.iceUfrag;
    return {
      role,
      fingerprints: [
        {
          algorithm: sdp.audio.fingerprint.type as types.FingerprintAlgorithm,
          value: sdp.audio.fingerprint.hash,
        },
      ],
    };
  }

  /**
   * The device's producer is known by its MID only, whatever SSRC the SDP signals: the worker
   * binds it to the first SSRC the device actually sends (scripts/mediasoup-worker patch 0004).
   * A producer made with the signalled SSRC drops every packet of a device whose RTP carries
   * another one, and the call is silent both ways (nothing reaches the SIP side to echo back).
   */
  async #produceFromDevice(sdp: CheckedWebRtcSdp, field: string): Promise<void> {
    const { ssrc, cname } = signalledStream(sdp, field);
    this.#deviceSignalledSsrc = ssrc;
    this.#deviceProducer = await this.#requireWebRtc().produce({
      kind: 'audio',
      rtpParameters: producerRtpParameters(this.call, {
        mid: sdp.audio.mid ?? this.#webRtcMid,
        ...(cname === undefined ? {} : { cname }),
      }),
    });
  }

  /**
   * A device may renumber its stream in a new offer (werift does on an ICE restart): the
   * producer, bound to the first SSRC it received, is replaced, with its consumer on the SIP leg.
   */
  async #followDeviceStream(offer: CheckedWebRtcSdp): Promise<void> {
    const signalled = signalledStream(offer, 'offer.sdp').ssrc;
    if (signalled === undefined || signalled === this.#deviceSignalledSsrc) return;
    this.#deviceProducer?.close();
    this.#toSipConsumer = undefined;
    await this.#produceFromDevice(offer, 'offer.sdp');
    this.#toSipConsumer = await this.#plainTransport!.consume({
      producerId: this.#deviceProducer!.id,
      rtpCapabilities: legRtpCapabilities(this.call),
    });
  }

  async #produceFromSip(): Promise<void> {
    this.#sipProducer = await this.#plainTransport!.produce({
      kind: 'audio',
      rtpParameters: producerRtpParameters(this.call, { mid: SIP_LEG_MID }),
    });
  }

  async #consumeBothWays(): Promise<void> {
    const rtpCapabilities = legRtpCapabilities(this.call);
    this.#toSipConsumer = await this.#plainTransport!.consume({
      producerId: this.#deviceProducer!.id,
      rtpCapabilities,
    });
    this.#toDeviceConsumer = await this.#requireWebRtc().consume({
      producerId: this.#sipProducer!.id,
      rtpCapabilities,
    });
  }

  /**
   * Points the plain transport at the SIP side. A PlainTransport connects once, so a far end
   * that moves (a re-INVITE to another address) gets a new SIP leg on a new local port.
   */
  async #connectSipLeg(remote: SipRemote): Promise<void> {
    const current = this.#sipRemote;
    if (current !== undefined && sameRemote(current, remote)) return;
    if (current !== undefined) await this.#replaceSipLeg();
    await this.#plainTransport!.connect({
      ip: remote.address,
      port: remote.port,
      ...(remote.rtcpPort === undefined ? {} : { rtcpPort: remote.rtcpPort }),
    });
    this.#sipRemote = remote;
  }

  async #replaceSipLeg(): Promise<void> {
    this.#plainTransport?.close();
    this.#sipProducer = undefined;
    this.#toSipConsumer = undefined;
    this.#toDeviceConsumer?.close();
    this.#toDeviceConsumer = undefined;
    this.#sipRemote = undefined;
    await this.#createPlainTransport(this.#plainRtcpMux);
    await this.#produceFromSip();
    if (this.#deviceProducer !== undefined) {
      this.#toSipConsumer = await this.#plainTransport!.consume({
        producerId: this.#deviceProducer.id,
        rtpCapabilities: legRtpCapabilities(this.call),
      });
    }
    if (this.#webRtcTransport !== undefined) {
      this.#toDeviceConsumer = await this.#webRtcTransport.consume({
        producerId: this.#sipProducer!.id,
        rtpCapabilities: legRtpCapabilities(this.call),
      });
    }
  }

  /**
   * Hold and direction as consumer pauses: audio flows to a leg only while the call is not held
   * locally and that leg asked to receive.
   */
  async #applyFlow(): Promise<void> {
    const toSip = !this.#localHold && receives(this.#sipDirection);
    const toDevice = !this.#localHold && receives(this.#deviceDirection);
    await setFlowing(this.#toSipConsumer, toSip);
    await setFlowing(this.#toDeviceConsumer, toDevice);
  }

  #describeWebRtc(setup: DtlsSetup, direction: MediaDirection): string {
    const webRtc = this.#requireWebRtc();
    const consumer = this.#toDeviceConsumer;
    const ssrc = consumer?.rtpParameters.encodings?.[0]?.ssrc;
    if (ssrc === undefined) throw new Error(`media endpoint ${this.id} has no stream towards the device`);
    const fingerprint =
      webRtc.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ??
      webRtc.dtlsParameters.fingerprints[0];
    if (fingerprint === undefined) throw new Error('mediasoup published no DTLS fingerprint');
    return webRtcDescription({
      origin: { ...this.#webRtcOrigin, version: this.#webRtcOrigin.version++ },
      address: this.#listen.announcedAddress,
      mid: this.#webRtcMid,
      setup,
      direction,
      call: this.call,
      ice: webRtc.iceParameters,
      candidates: webRtc.iceCandidates,
      fingerprint,
      sending: { ssrc, ...this.#sending },
    });
  }

  #describeRtp(direction: MediaDirection): string {
    const plain = this.#plainTransport!;
    return plainRtpDescription({
      origin: { ...this.#rtpOrigin, version: this.#rtpOrigin.version++ },
      address: this.#listen.announcedAddress,
      port: plain.tuple.localPort,
      ...(plain.rtcpTuple === undefined ? {} : { rtcpPort: plain.rtcpTuple.localPort }),
      call: this.call,
      direction,
      sessionName: 'telegate',
    });
  }
}

async function setFlowing(consumer: types.Consumer | undefined, flowing: boolean): Promise<void> {
  if (consumer === undefined || consumer.closed) return;
  if (flowing && consumer.paused) await consumer.resume();
  if (!flowing && !consumer.paused) await consumer.pause();
}
