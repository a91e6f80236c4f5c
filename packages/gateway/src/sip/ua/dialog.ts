import type { SipRequest, SipResponse } from '../message/message.js';
import type { InviteClientTransaction, InviteServerTransaction } from '../transaction/transactions.js';
import type { SipPeer } from '../transport/transport.js';

/**
 * One INVITE dialog (RFC 3261 §12) and what the UA needs to drive it:
 * identifiers, sequence numbers, route set and remote target, and the
 * transactions in flight. Owned by the backend, one per Call-ID.
 */
export class SipDialog {
  readonly callId: string;
  /** `uac`: the gateway sent the INVITE; `uas`: the network did. */
  readonly role: 'uac' | 'uas';
  state: 'calling' | 'early' | 'confirmed' | 'terminated' = 'calling';
  readonly localTag: string;
  remoteTag: string | undefined;
  /** From/To header values as this side sends them (without the remote tag; `toHeader()` adds it). */
  localAddress: string;
  remoteAddress: string;
  localSeq: number;
  remoteSeq: number | undefined;
  remoteTarget: string;
  routeSet: string[] = [];
  /** Where in-dialog requests go (the first route, or the remote target, or the outbound proxy). */
  peer: SipPeer;
  /** The subscriber number the dialog counts against (limits per number). */
  readonly number: string | undefined;

  // -- gateway as UAC
  invite: SipRequest | undefined;
  inviteTransaction: InviteClientTransaction | undefined;
  provisionalSeen = false;
  cancelWanted = false;
  lastRSeq: number | undefined;
  /** The ACK of the 2xx (its CSeq number and the message as sent), sent again for each retransmitted 2xx. */
  ack: { seq: number; wire: string } | undefined;
  answered = false;

  // -- gateway as UAS
  inviteServer: InviteServerTransaction | undefined;
  /**
   * The INVITE came without an offer: the gateway's 200 carries it and the
   * ACK the answer (RFC 3261 §13.2.1). Cleared once that ACK arrived.
   */
  lateOffer = false;
  remoteSupports100rel = false;
  localRSeq = Math.floor(Math.random() * 2 ** 30) + 1;
  /** Reliable provisionals waiting for PRACK (RFC 3262 §3): sent one at a time. */
  unackedProvisional: { response: SipResponse; rseq: number } | undefined;
  provisionalQueue: SipResponse[] = [];
  /** The 2xx retransmitted until its ACK arrives (§13.3.1.4). */
  pending2xx: { response: SipResponse; cseq: number } | undefined;
  reinviteServer: InviteServerTransaction | undefined;
  /** An in-dialog INVITE the gateway sent and has no final answer for (glare, RFC 3261 §14.1). */
  reinviteInFlight = false;
  lastLocalSdp: string | undefined;

  /** RFC 4028: the negotiated interval and who refreshes. */
  sessionExpires: { seconds: number; refresher: 'local' | 'remote' } | undefined;

  constructor(init: {
    callId: string;
    role: 'uac' | 'uas';
    localTag: string;
    localAddress: string;
    remoteAddress: string;
    remoteTag?: string;
    localSeq: number;
    remoteSeq?: number;
    remoteTarget: string;
    peer: SipPeer;
    number?: string;
  }) {
    this.callId = init.callId;
    this.role = init.role;
    this.localTag = init.localTag;
    this.localAddress = init.localAddress;
    this.remoteAddress = init.remoteAddress;
    this.remoteTag = init.remoteTag;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.peer = init.peer;
    this.number = init.number;
  }

  /**
   * Once the dialog has ended, drops what only a live call needs: the INVITE and its body, the
   * transactions (with their requests and the TU's callbacks), queued and pending responses, the
   * SDP. What answers a late retransmission stays: identifiers, tags, route set, peer and the ACK.
   */
  release(): void {
    this.invite = undefined;
    this.inviteTransaction = undefined;
    this.inviteServer = undefined;
    this.reinviteServer = undefined;
    this.unackedProvisional = undefined;
    this.provisionalQueue = [];
    this.pending2xx = undefined;
    this.lastLocalSdp = undefined;
    // Values read from a message are slices of its whole text, and built ones chains of pieces: own copies
    // let the 200 OK or INVITE they came from go while the ended dialog waits out its 64*T1.
    if (this.remoteTag !== undefined) this.remoteTag = ownCopy(this.remoteTag);
    this.remoteTarget = ownCopy(this.remoteTarget);
    this.routeSet = this.routeSet.map(ownCopy);
    this.localAddress = ownCopy(this.localAddress);
    this.remoteAddress = ownCopy(this.remoteAddress);
  }

  /** From of requests this side sends in the dialog. */
  fromHeader(): string {
    return `${this.localAddress};tag=${this.localTag}`;
  }

  /** To of requests this side sends in the dialog. */
  toHeader(): string {
    return this.remoteTag === undefined ? this.remoteAddress : `${this.remoteAddress};tag=${this.remoteTag}`;
  }
}

/** A flat copy of `value` that shares no memory with the string it was sliced or concatenated from. */
function ownCopy(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}
