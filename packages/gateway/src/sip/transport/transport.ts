import type { SipMessage } from '../message/message.js';

export type SipProtocol = 'udp' | 'tcp' | 'tls';

/** Where a message came from or goes to. */
export interface SipPeer {
  protocol: SipProtocol;
  address: string;
  port: number;
}

export interface SipTransportEvents {
  /** A well-formed message. */
  message(message: SipMessage, from: SipPeer): void;
  /** A message the parser refused; `partial` is what it read (a request may deserve a 400). */
  malformed(partial: SipMessage | undefined, from: SipPeer, reason: string): void;
}

/**
 * One listening SIP transport (RFC 3261 §18). UDP is unreliable (the
 * transaction layer retransmits); TCP and TLS are reliable and keep one
 * connection per peer, reused for requests and responses alike.
 */
export interface SipTransport {
  readonly protocol: SipProtocol;
  readonly reliable: boolean;
  /** The bound address and port (after `listen`). */
  readonly local: { address: string; port: number };
  listen(): Promise<void>;
  /** Sends a message, or the bytes of one already written for the wire (a retransmission). */
  send(message: SipMessage | Buffer, to: { address: string; port: number }): Promise<void>;
  setHandlers(handlers: SipTransportEvents): void;
  close(): Promise<void>;
}

/** `udp:127.0.0.1:5060`, `tcp:[::1]:5060`: a listen or target specification. */
export function parseTransportSpec(spec: string): { protocol: SipProtocol; address: string; port: number } {
  const match = /^(udp|tcp|tls):(\[[0-9A-Fa-f:.]+\]|[^:\s]+):([0-9]{1,5})$/i.exec(spec.trim());
  if (!match) throw new Error(`not a SIP transport address (udp|tcp|tls:host:port): ${JSON.stringify(spec)}`);
  const port = Number(match[3]);
  if (port > 65_535) throw new Error(`port out of range in ${JSON.stringify(spec)}`);
  return {
    protocol: match[1]!.toLowerCase() as SipProtocol,
    address: match[2]!.replace(/^\[|\]$/g, ''),
    port,
  };
}
