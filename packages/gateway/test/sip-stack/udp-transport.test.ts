/**
 * The UDP transport on 127.0.0.1: its socket keeps a receive buffer large
 * enough for a burst of datagrams while the event loop is busy.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { SipMessage } from '../../src/sip/message/message.js';
import { UDP_RECEIVE_BUFFER_BYTES, UdpTransport } from '../../src/sip/transport/udp-transport.js';
import { INVITE } from './messages.js';

/** What the kernel lets a process ask for (Linux); elsewhere, what the transport asks. */
function systemMaximum(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
  } catch {
    return UDP_RECEIVE_BUFFER_BYTES;
  }
}

const BURST = 1000;

describe('UDP transport', () => {
  let transport: UdpTransport | undefined;
  afterEach(async () => {
    await transport?.close();
    transport = undefined;
  });

  it('asks for a receive buffer of 4 MiB (as far as the kernel allows), so a burst of datagrams read late is not lost', async () => {
    transport = new UdpTransport({ address: '127.0.0.1', port: 0, logger: silentLogger });
    const received: SipMessage[] = [];
    transport.setHandlers({ message: (message) => received.push(message), malformed: () => {} });
    await transport.listen();
    expect(transport.receiveBufferBytes).toBeGreaterThanOrEqual(
      Math.min(UDP_RECEIVE_BUFFER_BYTES, systemMaximum()),
    );

    // 1,000 INVITEs sent by another process while this event loop is blocked (in spawnSync): all of
    // them wait in the socket until it is read. The system default buffer holds a few hundred.
    const sender = `
      const socket = require('node:dgram').createSocket('udp4');
      const datagram = Buffer.from(${JSON.stringify(INVITE)});
      let left = ${BURST};
      for (let i = 0; i < ${BURST}; i++)
        socket.send(datagram, ${transport.local.port}, '127.0.0.1', () => { if (--left === 0) socket.close(); });
    `;
    const run = spawnSync(process.execPath, ['-e', sender], { stdio: 'inherit', timeout: 30_000 });
    expect(run.status).toBe(0);
    for (let i = 0; i < 200 && received.length < BURST; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toHaveLength(BURST);
  });
});
