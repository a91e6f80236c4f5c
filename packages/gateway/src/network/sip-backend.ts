import type { Closable } from '../core/closable.js';
import type { PidfLo } from '../location/pidf-lo.js';
import type { SipNameAddr, SipUri } from '../sip/uri.js';

/**
 * An INVITE from the network for a subscriber. Everything in it comes from
 * outside and is unvalidated: parse before use.
 */
export interface IncomingInvite {
  callId: string;
  requestUri: string;
  from: { uri: string; displayName?: string };
  to: { uri: string; displayName?: string };
  /** The offer; absent for a late-offer INVITE. */
  sdp?: string;
}

/** The INVITE the gateway sends for an outgoing call; only validated, branded values go in. */
export interface OutgoingInvite {
  /** Call-ID chosen by the gateway (stored with the session before the INVITE leaves). */
  callId: string;
  requestUri: SipUri;
  from: SipNameAddr;
  to: SipNameAddr;
  /** The gateway's RTP offer (made by the media backend, not by a client). */
  sdp: string;
  /** P-Asserted-Identity (RFC 3325) when the From is anonymous. */
  assertedIdentity?: SipUri;
  /** `Privacy: id` (RFC 3323): withhold the caller's identity. */
  privacy?: boolean;
  /** Emergency call: PIDF-LO body (multipart, RFC 6442) and `Geolocation` header. */
  emergency?: { pidfLo: PidfLo };
}

export type ProvisionalStatus = 180 | 181 | 182 | 183;

/** What the network tells the gateway, by SIP dialog (`callId`). */
export interface SipBackendEvents {
  /** A new INVITE (the backend has already answered 100 Trying). */
  invite: IncomingInvite;
  /** A provisional response to the gateway's INVITE; reliable ones (100rel) are PRACKed by the backend. */
  provisional: { callId: string; status: ProvisionalStatus; reason: string; sdp?: string };
  /**
   * The ACK of the 200 the gateway sent to a late-offer INVITE (one without
   * SDP): that 200 carried the gateway's offer, and the ACK carries the far
   * end's answer (RFC 3261 §13.2.1, RFC 3264); `sdp` is absent when it has none.
   */
  acknowledged: { callId: string; sdp?: string };
  /** A 2xx to the gateway's INVITE, already ACKed by the backend. */
  answered: { callId: string; sdp: string };
  /** A final non-2xx to the gateway's INVITE (including 487 after a CANCEL). */
  failed: { callId: string; status: number; reason: string };
  /** The far end CANCELled its INVITE (the backend answered 200 and 487). */
  cancelled: { callId: string };
  /** The far end sent BYE (the backend answered 200). */
  bye: { callId: string };
  /** The far end sent a re-INVITE (hold/resume); answer it with `answer(callId, { status: 200, sdp })`. */
  reinvite: { callId: string; sdp: string; hold: boolean };
  /** The network dropped a registration binding of `register`. */
  registrationLost: { aor: SipUri };
}

/**
 * The SIP side of the gateway (RFC 3261 UA with 100rel/PRACK, CANCEL,
 * re-INVITE). The default adapter is an embedded UA; the loopback network
 * implements it in process. All methods address a dialog by `callId`.
 */
export interface SipBackend extends Closable {
  on<K extends keyof SipBackendEvents>(event: K, listener: (event: SipBackendEvents[K]) => void): () => void;
  /** REGISTER a subscriber binding; `expiresSeconds: 0` de-registers. Rejects when the registrar refuses. */
  register(binding: { aor: SipUri; expiresSeconds: number }): Promise<void>;
  /** Sends an INVITE; resolves once the network took it (100 Trying), rejects when it cannot be sent. */
  invite(request: OutgoingInvite): Promise<void>;
  /**
   * Answers a pending INVITE or re-INVITE from the network: 18x (reliably) or
   * 200 with SDP. For a late-offer INVITE the 200's SDP is the gateway's offer
   * (the answer arrives as `acknowledged`), and 18x go without SDP and
   * unreliably: a reliable one would have to carry the offer (RFC 3262 §5).
   */
  answer(callId: string, response: { status: ProvisionalStatus | 200; sdp?: string }): Promise<void>;
  /** Final negative answer to a pending INVITE from the network (486, 480, 603, ...). */
  reject(callId: string, response: { status: number; reason?: string }): Promise<void>;
  /** re-INVITE on an established dialog (hold/resume); resolves with the far end's SDP answer. */
  reinvite(callId: string, request: { sdp: string }): Promise<{ sdp: string }>;
  /** Ends an established dialog; resolves when it is gone (200, or a timeout: the dialog ends anyway). */
  bye(callId: string): Promise<void>;
  /** Cancels the gateway's pending INVITE; the final 487 arrives as a `failed` event. */
  cancel(callId: string): Promise<void>;
}
