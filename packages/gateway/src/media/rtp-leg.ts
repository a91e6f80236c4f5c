import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { isRtcp } from './rtp-packet.js';

/** Where the SIP side wants its RTP and RTCP (from its SDP). */
export interface RtpRemote {
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

/**
 * The plain RTP leg towards the SIP side: an RTP socket on an even port and
 * an RTCP socket on the next (RFC 3550 §11), bound to one local address.
 * Datagrams are taken only from the address the far end's SDP names (its
 * port may differ behind a NAT, its address may not).
 */
export class RtpLeg {
  readonly port: number;
  readonly #rtp: Socket;
  readonly #rtcp: Socket;
  #remote: RtpRemote | undefined;
  #closed = false;
  /** Called with each RTP packet from the far end. */
  onRtp: (packet: Buffer) => void = () => {};

  private constructor(port: number, rtp: Socket, rtcp: Socket) {
    this.port = port;
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    rtp.on('message', (packet, from) => {
      const remote = this.#remote;
      if (remote === undefined || from.address !== remote.address) return;
      // With rtcp-mux (RFC 5761) RTCP may arrive here too; the relay does not forward RTCP.
      if (isRtcp(packet)) return;
      this.onRtp(packet);
    });
    // Far-end RTCP is read and dropped: each leg's RTCP is its own (RFC 3550 §6), nothing to relay.
    rtcp.on('message', () => {});
  }

  /** Binds RTP on `port` (even) and RTCP on `port + 1`; rejects when either is taken. */
  static async open(address: string, port: number): Promise<RtpLeg> {
    const type = isIPv6(address) ? 'udp6' : 'udp4';
    const rtp = createSocket({ type, reuseAddr: false });
    const rtcp = createSocket({ type, reuseAddr: false });
    try {
      await bind(rtp, address, port);
      await bind(rtcp, address, port + 1);
    } catch (error) {
      await Promise.all([closeSocket(rtp), closeSocket(rtcp)]);
      throw error;
    }
    // A send to an unreachable port reports ICMP errors here; they must not crash the process.
    rtp.on('error', () => {});
    rtcp.on('error', () => {});
    return new RtpLeg(port, rtp, rtcp);
  }

  /** Two sockets while open. */
  get socketCount(): number {
    return this.#closed ? 0 : 2;
  }

  setRemote(remote: RtpRemote | undefined): void {
    this.#remote = remote;
  }

  get remote(): RtpRemote | undefined {
    return this.#remote;
  }

  send(packet: Buffer): void {
    const remote = this.#remote;
    if (remote === undefined || this.#closed || remote.rtpPort === 0) return;
    this.#rtp.send(packet, remote.rtpPort, remote.address);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.onRtp = () => {};
    await Promise.all([closeSocket(this.#rtp), closeSocket(this.#rtcp)]);
  }
}

function bind(socket: Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ address, port, exclusive: true });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}
