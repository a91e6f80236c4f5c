import { connect as netConnect, createServer as netServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import type { Logger } from '../../core/logger.js';
import type { SipMessage } from '../message/message.js';
import {
  DEFAULT_PARSE_LIMITS,
  SipParseError,
  type SipParseLimits,
  SipStreamFramer,
} from '../message/parser.js';
import { serializeMessage } from '../message/serializer.js';
import type { SipTransport, SipTransportEvents } from './transport.js';

export interface StreamTransportOptions {
  protocol: 'tcp' | 'tls';
  address: string;
  port: number;
  logger: Logger;
  limits?: SipParseLimits;
  /** TLS: the server's key and certificate, and what outgoing connections trust. */
  tls?: { key?: string | Buffer; cert?: string | Buffer; ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Most open connections, in and out (default 1,000); more are refused. */
  maxConnections?: number;
  /** A connection idle this long is closed (default 5 min). */
  idleTimeoutMs?: number;
}

/**
 * SIP over TCP or TLS (RFC 3261 §18): one connection per peer address and
 * port, used both ways. A connection that sends what cannot be framed is
 * closed; the rest keep working.
 */
export class StreamTransport implements SipTransport {
  readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  readonly #options: StreamTransportOptions;
  readonly #limits: SipParseLimits;
  readonly #server: Server;
  readonly #connections = new Map<string, Socket>();
  readonly #connecting = new Map<string, Promise<Socket>>();
  #handlers: SipTransportEvents | undefined;
  #local = { address: '', port: 0 };
  #closed = false;

  constructor(options: StreamTransportOptions) {
    this.protocol = options.protocol;
    this.#options = options;
    this.#limits = options.limits ?? DEFAULT_PARSE_LIMITS;
    const onConnection = (socket: Socket) => this.#adopt(socket);
    this.#server =
      options.protocol === 'tls'
        ? tlsServer({ key: options.tls?.key, cert: options.tls?.cert }, onConnection)
        : netServer({ noDelay: true }, onConnection);
    this.#server.on('error', (error) => options.logger.warn({ err: error }, 'SIP stream server error'));
    if (options.protocol === 'tls') {
      this.#server.on('tlsClientError', (error) =>
        options.logger.debug({ err: error.message }, 'TLS handshake failed'),
      );
    }
  }

  get local(): { address: string; port: number } {
    return this.#local;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  setHandlers(handlers: SipTransportEvents): void {
    this.#handlers = handlers;
  }

  listen(): Promise<void> {
    const { address, port } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) =>
        reject(new Error(`cannot listen on ${this.protocol}:${address}:${port}: ${error.message}`));
      this.#server.once('error', onError);
      this.#server.listen(port, address, () => {
        this.#server.off('error', onError);
        const bound = this.#server.address();
        if (bound !== null && typeof bound === 'object')
          this.#local = { address: bound.address, port: bound.port };
        resolve();
      });
    });
  }

  #adopt(socket: Socket, key = `${socket.remoteAddress}:${socket.remotePort}`): void {
    const max = this.#options.maxConnections ?? 1_000;
    if (this.#connections.size >= max || this.#closed) {
      socket.destroy();
      return;
    }
    this.#connections.set(key, socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.#options.idleTimeoutMs ?? 300_000, () => socket.destroy());
    const framer = new SipStreamFramer(this.#limits);
    const from = {
      protocol: this.protocol,
      address: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      port: socket.remotePort ?? 0,
    };
    socket.on('data', (chunk: Buffer) => {
      let messages: SipMessage[];
      try {
        messages = framer.push(chunk);
      } catch (error) {
        const partial = error instanceof SipParseError ? error.partial : undefined;
        this.#handlers?.malformed(partial, from, error instanceof Error ? error.message : 'unparsable');
        // The stream is out of step: nothing after this can be framed safely.
        socket.destroy();
        return;
      }
      for (const message of messages) this.#handlers?.message(message, from);
    });
    socket.on('error', (error) =>
      this.#options.logger.debug({ err: error.message, peer: key }, 'SIP connection error'),
    );
    socket.on('close', () => {
      if (this.#connections.get(key) === socket) this.#connections.delete(key);
    });
  }

  async #connection(to: { address: string; port: number }): Promise<Socket> {
    const key = `${to.address}:${to.port}`;
    const open = this.#connections.get(key);
    if (open !== undefined && !open.destroyed) return open;
    const pending = this.#connecting.get(key);
    if (pending !== undefined) return pending;
    const connecting = new Promise<Socket>((resolve, reject) => {
      const socket =
        this.protocol === 'tls'
          ? tlsConnect({
              host: to.address,
              port: to.port,
              ...(this.#options.tls?.ca === undefined ? {} : { ca: this.#options.tls.ca }),
              rejectUnauthorized: this.#options.tls?.rejectUnauthorized ?? true,
            })
          : netConnect({ host: to.address, port: to.port });
      const ready = this.protocol === 'tls' ? 'secureConnect' : 'connect';
      socket.once(ready, () => {
        socket.off('error', reject);
        this.#adopt(socket, key);
        resolve(socket);
      });
      socket.once('error', reject);
    });
    this.#connecting.set(key, connecting);
    try {
      return await connecting;
    } finally {
      this.#connecting.delete(key);
    }
  }

  async send(message: SipMessage | Buffer, to: { address: string; port: number }): Promise<void> {
    if (this.#closed) throw new Error('SIP transport is closed');
    const socket = await this.#connection(to);
    const data = Buffer.isBuffer(message) ? message : serializeMessage(message);
    await new Promise<void>((resolve, reject) =>
      socket.write(data, (error) => (error ? reject(error) : resolve())),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
