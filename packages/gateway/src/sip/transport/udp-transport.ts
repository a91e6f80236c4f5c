import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../../core/logger.js';
import type { SipMessage } from '../message/message.js';
import {
  DEFAULT_PARSE_LIMITS,
  parseDatagram,
  SipParseError,
  type SipParseLimits,
} from '../message/parser.js';
import { serializeMessage } from '../message/serializer.js';
import type { SipTransport, SipTransportEvents } from './transport.js';

/**
 * Receive buffer asked of the kernel (which caps it at `net.core.rmem_max`).
 * The default (about 200 kB) holds a few hundred datagrams: at hundreds of
 * calls a second, a pause of the event loop (a GC, a busy machine) overflows
 * it, and a lost 200 OK costs a call.
 */
export const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** SIP over UDP (RFC 3261 §18): one datagram per message. */
export class UdpTransport implements SipTransport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly #socket: Socket;
  readonly #bind: { address: string; port: number };
  readonly #limits: SipParseLimits;
  readonly #logger: Logger;
  #handlers: SipTransportEvents | undefined;
  #local = { address: '', port: 0 };

  constructor(options: { address: string; port: number; limits?: SipParseLimits; logger: Logger }) {
    this.#bind = { address: options.address, port: options.port };
    this.#limits = options.limits ?? DEFAULT_PARSE_LIMITS;
    this.#logger = options.logger;
    this.#socket = createSocket({ type: isIPv6(options.address) ? 'udp6' : 'udp4' });
    this.#socket.on('message', (data, rinfo) => this.#receive(data, rinfo.address, rinfo.port));
    // ICMP errors and the like surface here; they never end the process.
    this.#socket.on('error', (error) => this.#logger.warn({ err: error }, 'SIP UDP socket error'));
  }

  get local(): { address: string; port: number } {
    return this.#local;
  }

  /** The socket's receive buffer as the kernel reports it (Linux counts its bookkeeping: twice what was asked). */
  get receiveBufferBytes(): number {
    return this.#socket.getRecvBufferSize();
  }

  setHandlers(handlers: SipTransportEvents): void {
    this.#handlers = handlers;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) =>
        reject(new Error(`cannot listen on udp:${this.#bind.address}:${this.#bind.port}: ${error.message}`));
      this.#socket.once('error', onError);
      this.#socket.bind(this.#bind.port, this.#bind.address, () => {
        this.#socket.off('error', onError);
        try {
          this.#socket.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES);
        } catch (error) {
          this.#logger.warn({ err: error }, 'SIP UDP receive buffer left at the system default');
        }
        const address = this.#socket.address();
        this.#local = { address: address.address, port: address.port };
        resolve();
      });
    });
  }

  #receive(data: Buffer, address: string, port: number): void {
    const from = { protocol: 'udp' as const, address, port };
    let message: SipMessage;
    try {
      message = parseDatagram(data, this.#limits);
    } catch (error) {
      const partial = error instanceof SipParseError ? error.partial : undefined;
      this.#handlers?.malformed(partial, from, error instanceof Error ? error.message : 'unparsable');
      return;
    }
    this.#handlers?.message(message, from);
  }

  send(message: SipMessage | Buffer, to: { address: string; port: number }): Promise<void> {
    const data = Buffer.isBuffer(message) ? message : serializeMessage(message);
    return new Promise((resolve, reject) => {
      this.#socket.send(data, to.port, to.address, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or already closed
      }
    });
  }
}
