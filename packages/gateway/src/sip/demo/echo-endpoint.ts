import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/** Whether `address` is on this machine's loopback (127.0.0.0/8, ::1): the only place demo media goes. */
export function isLoopback(address: string): boolean {
  return isIP(address) === 4 ? address.startsWith('127.') : address === '::1';
}

/**
 * The demo network's media for one call: an RTP socket that sends every
 * packet back where it came from (an echo: on the echo number you hear
 * yourself). It answers loopback senders only.
 */
export class EchoEndpoint {
  readonly #socket: Socket;
  #port = 0;
  #echo: boolean;
  received = 0;

  private constructor(socket: Socket, echo: boolean) {
    this.#socket = socket;
    this.#echo = echo;
    socket.on('message', (packet, from) => {
      this.received++;
      if (!this.#echo || !isLoopback(from.address) || packet.length < 12) return;
      this.#socket.send(packet, from.port, from.address);
    });
    socket.on('error', () => {});
  }

  static async open(address: string, echo: boolean): Promise<EchoEndpoint> {
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const endpoint = new EchoEndpoint(socket, echo);
    endpoint.#port = socket.address().port;
    return endpoint;
  }

  get port(): number {
    return this.#port;
  }

  setEcho(echo: boolean): void {
    this.#echo = echo;
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {}
  }
}
