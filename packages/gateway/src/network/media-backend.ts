import type { Closable } from '../core/closable.js';
import type { CheckedRtpSdp } from '../sdp/rtp.js';
import type { CheckedWebRtcSdp } from '../sdp/webrtc.js';

/**
 * One call's media: the WebRTC leg (ICE + DTLS-SRTP towards the device) and
 * the plain RTP leg towards the SIP side, relayed into each other. Owned by
 * its `CallSession`.
 */
export interface MediaEndpoint extends Closable {
  readonly id: string;
  /** Outgoing call: the far end's RTP answer (from 183 or 200). */
  setRtpAnswer(answer: CheckedRtpSdp): Promise<void>;
  /** Incoming call: the device's WebRTC answer to the gateway's offer. */
  setWebRtcAnswer(answer: CheckedWebRtcSdp): Promise<void>;
  /** A new WebRTC offer from the device (ICE restart, hold from the browser); returns the gateway's answer. */
  renegotiateWebRtc(offer: CheckedWebRtcSdp): Promise<string>;
  /** Local hold (`true`) or resume: the RTP offer for the re-INVITE. */
  hold(held: boolean): Promise<string>;
  /** A re-INVITE offer from the far end (remote hold/resume): returns the RTP answer. */
  updateRtp(offer: CheckedRtpSdp): Promise<string>;
  /**
   * Calls `listener` once if the device's leg fails for good (ICE or DTLS
   * failed, the peer closed DTLS, or the connection stays lost): the call has
   * no media left and must end. Optional: in-memory backends never fail.
   */
  onFailure?(listener: (reason: string) => void): void;
}

/** What a media backend holds open right now (tests check that nothing leaks). */
export interface MediaBackendStats {
  /** Endpoints created and not yet closed. */
  endpoints: number;
  /** UDP sockets those endpoints hold (RTP leg and ICE). */
  udpSockets: number;
  /**
   * ICE + DTLS transports towards devices not yet closed (werift peer connections, mediasoup
   * WebRtcTransports), counted by the media stack itself, so one an endpoint failed to close shows.
   */
  webRtcTransports: number;
}

/** Creates media endpoints; terminates ICE/DTLS-SRTP and relays RTP (G.711/Opus). */
export interface MediaBackend extends Closable {
  /** Open endpoints and sockets, for leak checks and metrics (optional: the loopback backend has none). */
  stats?(): MediaBackendStats;
  /**
   * Starts what the backend's calls run on (werift's media threads) ahead of the first call, so
   * that call does not wait for it; a backend starts it anyway when a call needs it. Optional.
   */
  start?(): Promise<void>;
  /** Outgoing call: endpoint for the device's WebRTC offer, the gateway's WebRTC answer and the RTP offer for the INVITE. */
  createFromWebRtcOffer(
    offer: CheckedWebRtcSdp,
  ): Promise<{ endpoint: MediaEndpoint; webrtcAnswer: string; rtpOffer: string }>;
  /** Incoming call: endpoint for the network's RTP offer, the RTP answer (18x/200) and a WebRTC offer for the device. */
  createFromRtpOffer(
    offer: CheckedRtpSdp,
  ): Promise<{ endpoint: MediaEndpoint; rtpAnswer: string; webrtcOffer: string }>;
  /**
   * Incoming call without an offer (a late-offer INVITE): an endpoint making
   * both offers, the RTP one for the 200 OK (its answer comes from the ACK
   * through `setRtpAnswer`) and a WebRTC one for the device. Both offer G.711
   * only, so whatever each side picks can be relayed to the other. Optional:
   * without it, late-offer INVITEs are refused with 488.
   */
  createOffers?(): Promise<{ endpoint: MediaEndpoint; rtpOffer: string; webrtcOffer: string }>;
}
