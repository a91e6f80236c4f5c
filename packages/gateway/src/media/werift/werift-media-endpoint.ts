import { randomBytes } from 'node:crypto';
import {
  type RTCDtlsTransport,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  RtpHeader,
  type RtpPacket,
} from 'werift';
import { invalidArgument } from '../../errors.js';
import type { MediaEndpoint } from '../../network/media-backend.js';
import type { AudioCodec, MediaDirection } from '../../sdp/media-info.js';
import type { CheckedRtpSdp } from '../../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../../sdp/webrtc.js';
import {
  allCodecs,
  answerDirection,
  chooseForDeviceOffer,
  chooseForRtpOffer,
  chooseFromAnswer,
  type LegFormat,
  RTP_PCMU,
  receives,
  rtpOfferFor,
  sends,
  webRtcOfferFor,
} from '../codec-plan.js';
import { DeviceLegFailure } from '../device-leg-failure.js';
import { A_LAW_TO_MU_LAW, MU_LAW_TO_A_LAW, transcodeG711, transcodeG711Into } from '../g711.js';
import type { RtpLeg } from '../rtp-leg.js';
import {
  RTP_HEADER_BYTES,
  type RtpBounds,
  rtpMarker,
  rtpPayloadBounds,
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
  writeRtpHeader,
} from '../rtp-packet.js';
import { buildRtpSdp } from '../rtp-sdp.js';
import { RtpStreamRewriter } from '../rtp-stream-rewriter.js';
import { type WeriftNetwork, weriftPeerConfig } from './peer-config.js';
import { reachableFrom, remoteSdpForWerift } from './remote-sdp.js';
import { SrtpFastPath, srtpPacketBytes } from './srtp-fast-path.js';

/** What an endpoint needs from its backend. */
export interface EndpointContext {
  network: WeriftNetwork;
  leg: RtpLeg;
  /** The backend's count of open peer connections: each endpoint adds its own. */
  peerConnections: Set<RTCPeerConnection>;
  onClosed(endpoint: WeriftMediaEndpoint): Promise<void>;
}

/** The converter between two G.711 laws, `undefined` when none is needed. */
function g711Table(from: string, to: string): Uint8Array | undefined {
  if (from === 'pcmu' && to === 'pcma') return MU_LAW_TO_A_LAW;
  if (from === 'pcma' && to === 'pcmu') return A_LAW_TO_MU_LAW;
  return undefined;
}

/**
 * One call's media on werift: a werift `RTCPeerConnection` towards the
 * device (ICE + DTLS-SRTP, one audio m-line) and a plain RTP leg towards the
 * SIP side, relayed into each other.
 *
 * The relay takes the DTLS transport's SRTP over (`SrtpFastPath`: decrypted
 * RTP as bytes, no werift receiver): werift 0.24.4 hands a packet to a
 * receiver only when its SSRC was listed in the remote SDP, so a device that
 * signals no `a=ssrc` (or changes SSRC) would otherwise be silent, and its
 * SRTP builds a cipher and parses the header bit by bit for every packet.
 * With AES-GCM werift keeps SRTP and the relay taps its decrypted RTP
 * (`onRtp`). One audio m-line is bundled on one transport, so every RTP
 * packet on it belongs to this call.
 */
export class WeriftMediaEndpoint implements MediaEndpoint {
  readonly id: string;
  readonly #ctx: EndpointContext;
  readonly #pc: RTCPeerConnection;
  readonly #transceiver: RTCRtpTransceiver;
  readonly #failure = new DeviceLegFailure();
  readonly #sessionId = BigInt(`0x${randomBytes(7).toString('hex')}`).toString();
  #sdpVersion = 1;
  #closed = false;

  #webrtc: LegFormat | undefined;
  /** Codecs put in the gateway's WebRTC offer (incoming calls), for reading the device's answer. */
  #webrtcOffered: AudioCodec[] = [];
  #rtp: LegFormat | undefined;
  /** Codecs put in the gateway's RTP offer (outgoing calls, hold/resume), for reading the far end's answer. */
  #rtpOffered: AudioCodec[] = [];
  #rtpMux = false;

  /** Direction in the device's latest SDP, and in the far end's. */
  #deviceDirection: MediaDirection = 'sendrecv';
  #farEndDirection: MediaDirection = 'sendrecv';
  #held = false;
  #relayToSip = false;
  #relayToDevice = false;

  #transport: RTCDtlsTransport | undefined;
  #srtp: SrtpFastPath | undefined;
  #unsubscribeRtp: (() => void) | undefined;
  readonly #toSip: RtpStreamRewriter;
  #toDevice: RtpStreamRewriter | undefined;
  #toSipTable: Uint8Array | undefined;
  #toDeviceTable: Uint8Array | undefined;
  /** Reused for every packet sent to the device through werift (AES-GCM): werift encrypts it synchronously. */
  readonly #deviceHeader = new RtpHeader();
  readonly #bounds: RtpBounds = { payloadStart: 0, payloadEnd: 0 };
  readonly #deviceBounds: RtpBounds = { payloadStart: 0, payloadEnd: 0 };

  private constructor(
    id: string,
    ctx: EndpointContext,
    pc: RTCPeerConnection,
    transceiver: RTCRtpTransceiver,
  ) {
    this.id = id;
    this.#ctx = ctx;
    this.#pc = pc;
    this.#transceiver = transceiver;
    ctx.peerConnections.add(pc);
    this.#toSip = new RtpStreamRewriter(8000);
    ctx.leg.onRtp = (packet) => this.#fromSip(packet);
    pc.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
  }

  /** Outgoing call: answers the device's offer; returns the WebRTC answer and the RTP offer for the INVITE. */
  static async answering(
    id: string,
    ctx: EndpointContext,
    offer: CheckedWebRtcSdp,
  ): Promise<{ endpoint: WeriftMediaEndpoint; webrtcAnswer: string; rtpOffer: string }> {
    const webrtc = chooseForDeviceOffer(offer, 'offer.sdp');
    const codecs = webrtc.telephoneEvent ? [webrtc.audio, webrtc.telephoneEvent] : [webrtc.audio];
    const pc = new RTCPeerConnection(weriftPeerConfig(ctx.network, codecs));
    const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    const endpoint = new WeriftMediaEndpoint(id, ctx, pc, transceiver);
    try {
      endpoint.#webrtc = webrtc;
      const webrtcAnswer = await endpoint.#answerDevice(offer);
      endpoint.#failure.awaitConnection();
      const rtp = rtpOfferFor(webrtc);
      endpoint.#rtpOffered = [rtp.audio, ...rtp.alternatives];
      const rtpOffer = endpoint.#rtpSdp([rtp.audio, ...rtp.alternatives], rtp.telephoneEvent, 'sendrecv');
      return { endpoint, webrtcAnswer, rtpOffer };
    } catch (error) {
      await endpoint.close();
      throw error;
    }
  }

  /** Incoming call: answers the SIP offer; returns the RTP answer and a WebRTC offer for the device. */
  static async offering(
    id: string,
    ctx: EndpointContext,
    offer: CheckedRtpSdp,
  ): Promise<{ endpoint: WeriftMediaEndpoint; rtpAnswer: string; webrtcOffer: string }> {
    const rtp = chooseForRtpOffer(offer, 'INVITE SDP');
    const { codecs, telephoneEvent } = webRtcOfferFor(rtp);
    const pc = new RTCPeerConnection(weriftPeerConfig(ctx.network, [...codecs, telephoneEvent]));
    const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    const endpoint = new WeriftMediaEndpoint(id, ctx, pc, transceiver);
    try {
      endpoint.#webrtcOffered = [...codecs, telephoneEvent];
      const rtpAnswer = endpoint.#answerFarEnd(offer, rtp);
      const description = await pc.setLocalDescription(await pc.createOffer());
      endpoint.#attachTransport();
      const webrtcOffer = endpoint.#localSdp(description.toSdp().sdp);
      return { endpoint, rtpAnswer, webrtcOffer };
    } catch (error) {
      await endpoint.close();
      throw error;
    }
  }

  /**
   * Incoming call without an offer (late-offer INVITE): offers G.711 on both
   * legs, the RTP offer for the 200 OK and a WebRTC offer for the device; each
   * side's answer arrives later (`setRtpAnswer` from the ACK, `setWebRtcAnswer`).
   */
  static async offeringBoth(
    id: string,
    ctx: EndpointContext,
  ): Promise<{ endpoint: WeriftMediaEndpoint; rtpOffer: string; webrtcOffer: string }> {
    const rtp = rtpOfferFor({ audio: RTP_PCMU });
    const { codecs, telephoneEvent } = webRtcOfferFor({ audio: RTP_PCMU });
    const pc = new RTCPeerConnection(weriftPeerConfig(ctx.network, [...codecs, telephoneEvent]));
    const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    const endpoint = new WeriftMediaEndpoint(id, ctx, pc, transceiver);
    try {
      endpoint.#webrtcOffered = [...codecs, telephoneEvent];
      endpoint.#rtpOffered = [rtp.audio, ...rtp.alternatives];
      const rtpOffer = endpoint.#rtpSdp([rtp.audio, ...rtp.alternatives], rtp.telephoneEvent, 'sendrecv');
      const description = await pc.setLocalDescription(await pc.createOffer());
      endpoint.#attachTransport();
      const webrtcOffer = endpoint.#localSdp(description.toSdp().sdp);
      return { endpoint, rtpOffer, webrtcOffer };
    } catch (error) {
      await endpoint.close();
      throw error;
    }
  }

  // ------------------------------------------------------------------ MediaEndpoint

  async setRtpAnswer(answer: CheckedRtpSdp): Promise<void> {
    this.#assertOpen();
    const rtp = chooseFromAnswer(answer, 'answer SDP', this.#rtpOffered, this.#rtp);
    this.#useRtp(rtp, answer);
  }

  async setWebRtcAnswer(answer: CheckedWebRtcSdp): Promise<void> {
    this.#assertOpen();
    const webrtc = chooseFromAnswer(
      answer,
      'answer.sdp',
      this.#webrtcOffered.filter((c) => c.name !== 'telephone-event'),
    );
    const rtp = this.#rtp;
    if (
      rtp !== undefined &&
      !(webrtc.audio.name === rtp.audio.name || g711Table(webrtc.audio.name, rtp.audio.name))
    ) {
      throw invalidArgument(
        `answer.sdp chose ${webrtc.audio.name}, which cannot be relayed to ${rtp.audio.name}`,
      );
    }
    await this.#werift(() =>
      this.#pc.setRemoteDescription({
        type: 'answer',
        sdp: remoteSdpForWerift(answer, 'answer.sdp', undefined, this.#ctx.network.bindAddress),
      }),
    );
    this.#webrtc = webrtc;
    this.#deviceDirection = answer.audio.direction;
    this.#failure.awaitConnection();
    this.#attachTransport();
    this.#update();
  }

  async renegotiateWebRtc(offer: CheckedWebRtcSdp): Promise<string> {
    this.#assertOpen();
    const current = this.#webrtc;
    if (current === undefined)
      throw invalidArgument('offer.sdp: the device has not answered the first offer yet');
    // The SIP leg was negotiated for the codec in use, so the new offer must keep it (its payload type may change).
    const codecs = allCodecs(offer, 'offer.sdp');
    const audio = codecs.find((c) => c.name === current.audio.name && c.rate === current.audio.rate);
    if (audio === undefined)
      throw invalidArgument(`offer.sdp drops ${current.audio.name}, the codec this call uses`);
    const dtmf = codecs.find((c) => c.name === 'telephone-event' && c.rate === audio.rate);
    this.#webrtc = dtmf === undefined ? { audio } : { audio, telephoneEvent: dtmf };
    return this.#answerDevice(offer);
  }

  async hold(held: boolean): Promise<string> {
    this.#assertOpen();
    this.#held = held;
    this.#update();
    const rtp = this.#rtp ?? { audio: this.#rtpOffered[0]! };
    this.#rtpOffered = [rtp.audio];
    // RFC 3264 §8.4: the holding side offers sendonly, and resumes with sendrecv.
    return this.#rtpSdp([rtp.audio], rtp.telephoneEvent, held ? 'sendonly' : 'sendrecv');
  }

  async updateRtp(offer: CheckedRtpSdp): Promise<string> {
    this.#assertOpen();
    const relayTo = this.#webrtc?.audio.name ?? this.#rtp?.audio.name;
    const rtp = chooseForRtpOffer(offer, 're-INVITE SDP', relayTo);
    return this.#answerFarEnd(offer, rtp);
  }

  onFailure(listener: (reason: string) => void): void {
    this.#failure.onFailure(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure.close();
    this.#relayToSip = false;
    this.#relayToDevice = false;
    this.#unsubscribeRtp?.();
    this.#unsubscribeRtp = undefined;
    this.#srtp?.close();
    await Promise.allSettled([this.#pc.close(), this.#ctx.leg.close()]);
    await this.#ctx.onClosed(this);
  }

  /**
   * `connected` ends the wait for the device (`CONNECT_TIMEOUT_MS`, a backstop: werift fails
   * ICE itself once every check timed out); `failed` (ICE checks or the DTLS handshake failed) and `closed` (the
   * device sent DTLS close_notify: its page or peer connection closed) are
   * final; `disconnected` (consent lost, RFC 7675) may recover, so it only
   * counts once it has lasted `DISCONNECTED_GRACE_MS` (device-leg-failure.ts).
   */
  #onConnectionState(state: string): void {
    if (this.#closed) return;
    this.#failure.recovered();
    if (state === 'connected') this.#failure.connected();
    else if (state === 'failed') this.#failure.fail('ICE or DTLS with the device failed');
    else if (state === 'closed') this.#failure.fail('the device closed its media connection');
    else if (state === 'disconnected') this.#failure.lost('the media connection with the device was lost');
  }

  // ------------------------------------------------------------------ inspection (backend stats)

  get closed(): boolean {
    return this.#closed;
  }

  /** The WebRTC leg's state and where media flows, for logs and diagnostics. */
  get state(): {
    dtls: string;
    ice: string;
    selectedPair: boolean;
    /** Whether SRTP runs on the relay's fast path (AES_CM_128_HMAC_SHA1_80) rather than werift's. */
    fastSrtp: boolean;
    toSip: boolean;
    toDevice: boolean;
  } {
    const transport = this.#transport;
    return {
      fastSrtp: this.#srtp?.active ?? false,
      dtls: transport?.state ?? 'new',
      ice: transport?.iceTransport.state ?? 'new',
      selectedPair: transport?.iceTransport.connection.nominated !== undefined,
      toSip: this.#relayToSip,
      toDevice: this.#relayToDevice,
    };
  }

  /** UDP sockets this endpoint holds: the RTP leg's two and werift's ICE socket(s). */
  get udpSockets(): number {
    if (this.#closed) return 0;
    let ice = 0;
    for (const transport of this.#pc.iceTransports) {
      const protocols = (transport.connection as unknown as { protocols?: unknown[] }).protocols;
      ice += protocols?.length ?? 0;
    }
    return this.#ctx.leg.socketCount + ice;
  }

  // ------------------------------------------------------------------ negotiation

  #assertOpen(): void {
    if (this.#closed) throw new Error(`media endpoint ${this.id} is closed`);
  }

  /** werift rejects with bare errors ("exception", "negotiate codecs failed."): report them as a bad SDP. */
  async #werift<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw invalidArgument(`SDP rejected by the WebRTC stack: ${reason}`);
    }
  }

  /** Applies a device offer (first or renegotiated, ICE restart included) and returns the complete answer. */
  async #answerDevice(offer: CheckedWebRtcSdp): Promise<string> {
    const webrtc = this.#webrtc!;
    const keep = [webrtc.audio.payload, ...(webrtc.telephoneEvent ? [webrtc.telephoneEvent.payload] : [])];
    const sdp = remoteSdpForWerift(offer, 'offer.sdp', keep, this.#ctx.network.bindAddress);
    await this.#werift(() => this.#pc.setRemoteDescription({ type: 'offer', sdp }));
    const transport = this.#transceiver.dtlsTransport;
    if (offer.audio.setup === 'actpass' && transport !== undefined && transport.state === 'new') {
      // Answer `passive` and be the DTLS server (RFC 8842 §5.3 lets the answerer choose): werift 0.24.4's
      // DTLS client fails the handshake when a HelloVerifyRequest arrives twice (a retransmission once an
      // event loop lags 500 ms, RFC 6347 §4.2.1), while its server answers repeated flights.
      transport.role = 'server';
    }
    // setLocalDescription returns once gathering is complete (werift gathers host candidates only here),
    // so the answer carries every candidate: no trickle ICE.
    const description = await this.#werift(async () =>
      this.#pc.setLocalDescription(await this.#pc.createAnswer()),
    );
    this.#deviceDirection = offer.audio.direction;
    this.#attachTransport();
    this.#update();
    this.#checkAfterIceRestart();
    return this.#localSdp(description.toSdp().sdp);
  }

  /**
   * werift 0.24.4 restarts ICE on new remote credentials (RFC 8445 §9) and
   * drops the selected pair, but its `connect()` returns early while DTLS is
   * still up, so no connectivity check ever runs and media stops. Start the
   * checks here; DTLS and SRTP carry on over the new pair.
   */
  #checkAfterIceRestart(): void {
    const transport = this.#transport;
    if (transport === undefined || transport.state !== 'connected') return;
    const ice = transport.iceTransport;
    if (ice.connection.nominated !== undefined) return;
    ice.start().catch(() => {
      // A failed restart leaves the call without media; the device sees it and may restart again.
    });
  }

  /** Takes the far end's offer (INVITE or re-INVITE) and returns the RTP answer. */
  #answerFarEnd(offer: CheckedRtpSdp, rtp: LegFormat): string {
    this.#rtpMux = offer.description.media.find((m) => m.type === 'audio')?.rtcpMux !== undefined;
    this.#useRtp(rtp, offer);
    const local: MediaDirection = this.#held ? 'sendonly' : 'sendrecv';
    return this.#rtpSdp([rtp.audio], rtp.telephoneEvent, answerDirection(offer.audio.direction, local));
  }

  #useRtp(rtp: LegFormat, sdp: CheckedRtpSdp): void {
    this.#rtp = rtp;
    this.#toSip.clockRate = rtp.audio.rate;
    this.#farEndDirection = sdp.audio.port === 0 ? 'inactive' : sdp.audio.direction;
    const media = sdp.description.media.find((m) => m.type === 'audio');
    const rtcpPort = media?.rtcp?.port ?? sdp.audio.port + 1;
    // A loopback gateway never sends RTP off the machine: the far end is then treated as not sending.
    if (!reachableFrom(this.#ctx.network.bindAddress, sdp.audio.address)) this.#farEndDirection = 'inactive';
    else this.#ctx.leg.setRemote({ address: sdp.audio.address, rtpPort: sdp.audio.port, rtcpPort });
    this.#update();
  }

  #rtpSdp(codecs: AudioCodec[], telephoneEvent: AudioCodec | undefined, direction: MediaDirection): string {
    return buildRtpSdp({
      address: this.#ctx.network.announcedAddress,
      port: this.#ctx.leg.port,
      codecs,
      telephoneEvent,
      direction,
      sessionId: this.#sessionId,
      version: this.#sdpVersion++,
      rtcpMux: this.#rtpMux,
    });
  }

  /**
   * werift's SDP as sent to the device: CRLF line ends; the host candidate as
   * the default one in `m=`/`c=` (RFC 8839 §4.3.1) instead of werift's
   * `9`/`0.0.0.0`; no `a=ice-options:trickle`, since every candidate is in
   * the SDP and the gateway takes none trickled (RFC 8840 §4.1.1).
   */
  #localSdp(sdp: string): string {
    let out = sdp.replace(/\r?\n/g, '\r\n').replace(/^a=ice-options:trickle\r\n/m, '');
    const candidate = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/im.exec(out);
    if (candidate !== null) {
      const [, address, port] = candidate;
      const family = address!.includes(':') ? 'IP6' : 'IP4';
      out = out
        .replace(/^(m=audio )9 /m, `$1${port} `)
        .replace(/^c=IN IP4 0\.0\.0\.0\r$/m, `c=IN ${family} ${address}\r`);
    }
    return out;
  }

  // ------------------------------------------------------------------ relay

  /** Recomputes which way media flows, from both legs' directions and the local hold. */
  #update(): void {
    const webrtc = this.#webrtc;
    const rtp = this.#rtp;
    const ready = webrtc !== undefined && rtp !== undefined && !this.#closed;
    this.#relayToSip =
      ready && !this.#held && sends(this.#deviceDirection) && receives(this.#farEndDirection);
    this.#relayToDevice =
      ready && !this.#held && sends(this.#farEndDirection) && receives(this.#deviceDirection);
    if (webrtc !== undefined && rtp !== undefined) {
      this.#toSipTable = g711Table(webrtc.audio.name, rtp.audio.name);
      this.#toDeviceTable = g711Table(rtp.audio.name, webrtc.audio.name);
    }
  }

  /** Follows the transceiver's DTLS transport (set by the first negotiation) and taps its decrypted RTP. */
  #attachTransport(): void {
    const transport = this.#transceiver.dtlsTransport;
    if (transport === undefined || transport === this.#transport) return;
    this.#unsubscribeRtp?.();
    this.#transport = transport;
    this.#toDevice = new RtpStreamRewriter(
      (this.#webrtc ?? this.#rtp)?.audio.rate ?? 8000,
      this.#transceiver.sender.ssrc,
    );
    this.#srtp?.close();
    this.#srtp = new SrtpFastPath(transport, (packet) => this.#fromDeviceBytes(packet));
    const { unSubscribe } = transport.onRtp.subscribe((packet) => this.#fromDevice(packet));
    // werift's peer connection state does not follow a DTLS close_notify (a page closing): watch the transport too.
    const { unSubscribe: unsubscribeState } = transport.onStateChange.subscribe((state) =>
      this.#onConnectionState(state),
    );
    this.#unsubscribeRtp = () => {
      unSubscribe();
      unsubscribeState();
    };
  }

  /** A packet from werift's own SRTP path (AES-GCM). */
  #fromDevice(packet: RtpPacket): void {
    const header = packet.header;
    this.#sendToSip(
      header.payloadType,
      header.ssrc,
      header.sequenceNumber,
      header.timestamp,
      header.marker,
      packet.payload,
    );
  }

  /** A packet from the SRTP fast path: the decrypted RTP packet's bytes. */
  #fromDeviceBytes(packet: Buffer): void {
    if (!this.#relayToSip) return;
    const bounds = rtpPayloadBounds(packet, this.#deviceBounds);
    if (bounds === undefined) return;
    this.#sendToSip(
      rtpPayloadType(packet),
      rtpSsrc(packet),
      rtpSequence(packet),
      rtpTimestamp(packet),
      rtpMarker(packet),
      packet.subarray(bounds.payloadStart, bounds.payloadEnd),
    );
  }

  #sendToSip(
    incoming: number,
    ssrc: number,
    sequence: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): void {
    if (!this.#relayToSip) return;
    const webrtc = this.#webrtc!;
    const rtp = this.#rtp!;
    let payloadType: number;
    let table: Uint8Array | undefined;
    if (incoming === webrtc.audio.payload) {
      payloadType = rtp.audio.payload;
      table = this.#toSipTable;
    } else if (incoming === webrtc.telephoneEvent?.payload && rtp.telephoneEvent !== undefined) {
      // RFC 4733 events pass through unchanged: same clock rate on both legs.
      payloadType = rtp.telephoneEvent.payload;
    } else {
      return; // CN, RED, ...: nothing negotiated for it on the SIP side
    }
    const out = this.#toSip;
    out.rewrite(ssrc, sequence, timestamp, marker);
    const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
    writeRtpHeader(packet, out.marker, payloadType, out.sequence, out.timestamp, out.ssrc);
    if (table === undefined) packet.set(payload, RTP_HEADER_BYTES);
    else transcodeG711Into(payload, table, packet, RTP_HEADER_BYTES);
    this.#ctx.leg.send(packet);
  }

  #fromSip(packet: Buffer): void {
    if (!this.#relayToDevice) return;
    const transport = this.#transport;
    const out = this.#toDevice;
    if (transport === undefined || out === undefined || transport.state !== 'connected') return;
    const bounds = rtpPayloadBounds(packet, this.#bounds);
    if (bounds === undefined) return;
    const webrtc = this.#webrtc!;
    const rtp = this.#rtp!;
    const incoming = rtpPayloadType(packet);
    let payloadType: number;
    let table: Uint8Array | undefined;
    const payload = packet.subarray(bounds.payloadStart, bounds.payloadEnd);
    if (incoming === rtp.audio.payload) {
      payloadType = webrtc.audio.payload;
      table = this.#toDeviceTable;
    } else if (incoming === rtp.telephoneEvent?.payload && webrtc.telephoneEvent !== undefined) {
      payloadType = webrtc.telephoneEvent.payload;
    } else {
      return;
    }
    out.rewrite(rtpSsrc(packet), rtpSequence(packet), rtpTimestamp(packet), rtpMarker(packet));
    const srtp = this.#srtp;
    if (srtp?.active) {
      const length = RTP_HEADER_BYTES + payload.length;
      const outgoing = Buffer.allocUnsafe(srtpPacketBytes(length));
      writeRtpHeader(outgoing, out.marker, payloadType, out.sequence, out.timestamp, out.ssrc);
      if (table === undefined) payload.copy(outgoing, RTP_HEADER_BYTES);
      else transcodeG711Into(payload, table, outgoing, RTP_HEADER_BYTES);
      srtp.send(outgoing, length);
      return;
    }
    const header = this.#deviceHeader;
    header.payloadType = payloadType;
    header.marker = out.marker;
    header.sequenceNumber = out.sequence;
    header.timestamp = out.timestamp;
    header.ssrc = out.ssrc;
    void transport.sendRtp(table === undefined ? payload : transcodeG711(payload, table), header);
  }
}
