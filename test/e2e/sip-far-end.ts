/**
 * The SIP side of the browser tests: the gateway's own SIP user agent on 127.0.0.1 as the far end
 * of every call, with a plain RTP peer (`RtpPeer`) for its media, so what it hears is checked by
 * tone and what it sends is a known tone. What it does with each INVITE is set per test.
 */
import { randomBytes } from 'node:crypto';
import { EmbeddedSipBackend } from '../../packages/gateway/src/index.js';
import type { SipUri } from '../../packages/gateway/src/sip/uri.js';
import { RtpPeer } from '../../packages/gateway/src/testing/index.js';

/** What the far end does with the gateway's INVITE. */
export type FarEndAnswer =
  /** 200 OK with the first G.711 law of the offer; 488 when the offer has none. */
  | 'g711'
  /** 200 OK with G.729 only, a codec neither the gateway nor a browser has (a broken far end). */
  | 'g729'
  /** 200 OK with Opus only, whatever was offered (a broken far end, RFC 3264 §6.1). */
  | 'opus';

const G729_ONLY = (address: string, port: number) =>
  [
    'v=0',
    `o=far 1 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 18`,
    'a=rtpmap:18 G729/8000',
    'a=fmtp:18 annexb=no',
    'a=sendrecv',
    '',
  ].join('\r\n');

export class SipFarEnd {
  readonly ua: EmbeddedSipBackend;
  readonly rtp: RtpPeer;
  answer: FarEndAnswer = 'g711';
  /** Call-IDs of the BYEs received, and the final answers sent to INVITEs, in order. */
  readonly byes: string[] = [];
  readonly rejected: { callId: string; status: number }[] = [];
  /** Final responses to the INVITEs this far end sent (calls into the gateway). */
  readonly outcomes: { callId: string; status: number }[] = [];
  /** Call-ID of the latest call the far end answered. */
  callId: string | undefined;

  private constructor(ua: EmbeddedSipBackend, rtp: RtpPeer) {
    this.ua = ua;
    this.rtp = rtp;
    ua.on('invite', (invite) => void this.#onInvite(invite.callId, invite.sdp));
    ua.on('bye', ({ callId }) => this.byes.push(callId));
    ua.on('reinvite', ({ callId, sdp }) => {
      // Hold and resume from the gateway: mirror its direction (RFC 3264 §6.1), stay where we are.
      const direction = /^a=(sendonly|inactive|recvonly|sendrecv)/m.exec(sdp)?.[1] ?? 'sendrecv';
      const mirrored =
        direction === 'sendonly' ? 'recvonly' : direction === 'recvonly' ? 'sendonly' : direction;
      this.rtp.setRemoteFromSdp(sdp);
      void ua
        .answer(callId, {
          status: 200,
          sdp: this.rtp.sdp({ laws: [lawOf(sdp) ?? 'pcmu'], direction: mirrored }),
        })
        .catch(() => {});
    });
    ua.on('answered', ({ callId }) => this.outcomes.push({ callId, status: 200 }));
    ua.on('failed', ({ callId, status }) => this.outcomes.push({ callId, status }));
  }

  static async start(): Promise<SipFarEnd> {
    const ua = await EmbeddedSipBackend.start({
      listen: ['udp:127.0.0.1:0'],
      trustedPeers: ['127.0.0.0/8'],
      sessionExpiresSeconds: 0,
    });
    return new SipFarEnd(ua, await RtpPeer.open('127.0.0.1'));
  }

  /** `sip:127.0.0.1:<port>`: the gateway's outbound proxy. */
  get uri(): string {
    const udp = this.ua.listening[0]!;
    return `sip:${udp.address}:${udp.port}`;
  }

  /** Calls `to` at the gateway (its SIP address `gatewayUri`) offering `sdp`; resolves with the Call-ID. */
  async callIn(gatewayUri: string, to: string, sdp: string): Promise<string> {
    await this.ua.setOutboundProxy(gatewayUri);
    const callId = randomBytes(12).toString('hex');
    const target = `sip:${to}@tn.operator.com;user=phone` as SipUri;
    await this.ua.invite({
      callId,
      requestUri: target,
      from: { uri: 'sip:+818000000777@tn.operator.com;user=phone' as SipUri },
      to: { uri: target },
      sdp,
    });
    return callId;
  }

  /** An offer with G.729 only: nothing the gateway relays, nothing a browser has. */
  g729Offer(): string {
    return G729_ONLY(this.rtp.address, this.rtp.port);
  }

  async #onInvite(callId: string, offer: string | undefined): Promise<void> {
    const law = offer === undefined ? undefined : lawOf(offer);
    if (this.answer === 'g711' && law === undefined) {
      this.rejected.push({ callId, status: 488 });
      await this.ua.reject(callId, { status: 488, reason: 'Not Acceptable Here' }).catch(() => {});
      return;
    }
    this.callId = callId;
    if (offer !== undefined) this.rtp.setRemoteFromSdp(offer);
    const sdp =
      this.answer === 'g729'
        ? this.g729Offer()
        : this.answer === 'opus'
          ? this.rtp.sdp({ opus: true, laws: [] })
          : this.rtp.sdp({ laws: [law!] });
    await this.ua.answer(callId, { status: 180 }).catch(() => {});
    await this.ua.answer(callId, { status: 200, sdp }).catch(() => {});
  }

  async close(): Promise<void> {
    await this.ua.close();
    await this.rtp.close();
  }
}

/** The first G.711 law an SDP lists on its audio line (static payload types 0 and 8, RFC 3551). */
function lawOf(sdp: string): 'pcmu' | 'pcma' | undefined {
  const formats = /^m=audio \d+ \S+ ([\d ]+)/m.exec(sdp)?.[1]?.split(' ') ?? [];
  for (const format of formats) {
    if (format === '0') return 'pcmu';
    if (format === '8') return 'pcma';
  }
  return undefined;
}
