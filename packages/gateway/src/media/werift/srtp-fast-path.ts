import {
  isMedia,
  isRtcp,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  type RTCDtlsTransport,
  RtcpPacketConverter,
} from 'werift';
import { SRTP_AUTH_TAG_BYTES, SrtpAesCm128HmacSha1 } from '../srtp/aes-cm-hmac-sha1.js';

export { SRTP_AUTH_TAG_BYTES };

const KEY_BYTES = 16;
const SALT_BYTES = 14;

/**
 * SRTP of one werift DTLS transport, taken over from werift (0.24.4) once DTLS is up: incoming
 * SRTP is authenticated and decrypted in place and handed over as the RTP packet's bytes, with no
 * `RtpPacket` object and no bit-level header parse; outgoing RTP is encrypted in place. RTCP stays
 * on werift's own path (a few packets a second).
 *
 * The transport asks for AES_CM_128_HMAC_SHA1_80 first (werift would pick AES-GCM first): it is
 * the profile every WebRTC endpoint implements (RFC 8827 §6.5) and the one this path handles. A
 * peer offering only AES-GCM still gets it, on werift's own SRTP path (`active` stays false).
 */
export class SrtpFastPath {
  readonly #transport: RTCDtlsTransport;
  readonly #onRtp: (packet: Buffer) => void;
  #protect: SrtpAesCm128HmacSha1 | undefined;
  #unprotect: SrtpAesCm128HmacSha1 | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  /**
   * Must be called before the transport's DTLS handshake completes (right after the first
   * negotiation); afterwards werift owns the SRTP path and this one stays inactive.
   */
  constructor(transport: RTCDtlsTransport, onRtp: (packet: Buffer) => void) {
    this.#transport = transport;
    this.#onRtp = onRtp;
    if (transport.srtpStarted) return;
    (transport as unknown as { srtpProfiles: number[] }).srtpProfiles = [
      ProtectionProfileAes128CmHmacSha1_80,
      ProtectionProfileAeadAes128Gcm,
    ];
    // werift starts its SRTP path once, when DTLS connects: marking it started keeps it off.
    transport.srtpStarted = true;
    const { unSubscribe } = transport.onStateChange.subscribe((state) => {
      if (state === 'connected' && this.#protect === undefined) this.#start();
    });
    this.#unsubscribe.push(unSubscribe);
  }

  /** Whether packets go through this path (DTLS up with AES_CM_128_HMAC_SHA1_80). */
  get active(): boolean {
    return this.#protect !== undefined;
  }

  /**
   * Encrypts and sends an RTP packet held in the first `length` bytes of `packet`, which has
   * `SRTP_AUTH_TAG_BYTES` spare bytes after them and belongs to this call from now on (the send
   * is asynchronous). False when the path is not active: send through werift then.
   */
  send(packet: Buffer, length: number): boolean {
    const protect = this.#protect;
    if (protect === undefined) return false;
    this.#transport.iceTransport.connection.send(protect.protect(packet, length)).catch(() => {
      // A send on a closing connection: the call is ending.
    });
    return true;
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#protect = undefined;
    this.#unprotect = undefined;
  }

  #start(): void {
    const transport = this.#transport;
    const dtls = transport.dtls;
    if (dtls === undefined) return;
    if (dtls.srtp.srtpProfile !== ProtectionProfileAes128CmHmacSha1_80) {
      transport.srtpStarted = false;
      transport.startSrtp();
      return;
    }
    // werift's sessions stay in place for RTCP (and for anything else of werift's that sends).
    transport.updateSrtpSession();
    const keys = dtls.extractSessionKeys(KEY_BYTES, SALT_BYTES);
    this.#protect = new SrtpAesCm128HmacSha1(keys.localKey, keys.localSalt);
    this.#unprotect = new SrtpAesCm128HmacSha1(keys.remoteKey, keys.remoteSalt);
    const { unSubscribe } = transport.iceTransport.connection.onData.subscribe((data: Buffer) =>
      this.#receive(data),
    );
    this.#unsubscribe.push(unSubscribe);
  }

  #receive(data: Buffer): void {
    if (!isMedia(data)) return; // DTLS and STUN have their own readers
    if (isRtcp(data)) {
      this.#receiveRtcp(data);
      return;
    }
    const rtp = this.#unprotect?.unprotect(data);
    if (rtp !== undefined) this.#onRtp(rtp);
  }

  /** As werift's own path does it: decrypt, parse, hand to its RTCP listeners. */
  #receiveRtcp(data: Buffer): void {
    const transport = this.#transport;
    try {
      for (const packet of RtcpPacketConverter.deSerialize(transport.srtcp.decrypt(data))) {
        transport.onRtcp.execute(packet);
      }
    } catch {
      // Unauthenticated or malformed SRTCP is dropped (RFC 3711 §3.4).
    }
  }
}

/** Bytes a packet buffer for `SrtpFastPath.send` needs for an RTP packet of `length` bytes. */
export const srtpPacketBytes = (length: number): number => length + SRTP_AUTH_TAG_BYTES;
