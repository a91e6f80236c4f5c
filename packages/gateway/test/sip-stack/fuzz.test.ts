/**
 * No single packet may crash or stall the SIP stack: mutated real messages
 * (fast-check) go to a live backend over UDP and over TCP, and after every
 * one the backend still answers an OPTIONS probe.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedSipBackend } from '../../src/sip/ua/embedded-sip-backend.js';
import { BYE, INVITE, OPTIONS, RINGING } from './messages.js';

const SEEDS = [INVITE, RINGING, BYE, OPTIONS('seed', 'seed-call')].map((m) => Buffer.from(m));
const NASTY = [
  '\r\n',
  '\r\n\r\n',
  '\0',
  '\r',
  ';__proto__=1',
  ';constructor',
  ';toString=x',
  '<',
  '>',
  '"',
  ',',
  ':',
  'Content-Length: 99999999\r\n',
  'Content-Length: abc\r\n',
  'Content-Length: -1\r\n',
  'l: 5\r\n',
  'Via: SIP/2.0/UDP [::1\r\n',
  'CSeq: 99999999999 INVITE\r\n',
  'Max-Forwards: 0\r\n',
  'Require: foo\r\n',
  `X-Long: ${'a'.repeat(3000)}\r\n`,
  '\xff\xfe',
  ' \t ',
];

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'repeat'; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(2000), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(2000), text: fc.constantFrom(...NASTY) }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(2000),
    length: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(2000) }),
  fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 4 }) }),
);

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let data = Buffer.from(seed);
  for (const m of mutations) {
    const at = data.length === 0 ? 0 : ('at' in m ? m.at : 0) % (data.length + 1);
    switch (m.kind) {
      case 'flip':
        if (at < data.length) data[at] = m.byte;
        break;
      case 'insert':
        data = Buffer.concat([data.subarray(0, at), Buffer.from(m.text, 'latin1'), data.subarray(at)]);
        break;
      case 'delete':
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + m.length)]);
        break;
      case 'truncate':
        data = data.subarray(0, at);
        break;
      case 'repeat':
        data = Buffer.concat(Array.from({ length: m.times }, () => data));
        break;
    }
  }
  return data;
}

const packet = fc
  .tuple(fc.nat(SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([i, ms]) => mutate(SEEDS[i]!, ms));

describe('the SIP stack under mutated messages', () => {
  let backend: EmbeddedSipBackend;
  let udpPort: number;
  let tcpPort: number;
  const probe = createSocket('udp4');
  const answers = new Map<string, (status: number) => void>();
  let probes = 0;

  beforeAll(async () => {
    backend = await EmbeddedSipBackend.start({
      listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
      limits: { maxMessageBytes: 8_192, maxDialogs: 50 },
    });
    // Whatever INVITE gets through is turned down at once, as an unknown number would be.
    backend.on('invite', ({ callId }) => void backend.reject(callId, { status: 404 }).catch(() => {}));
    udpPort = backend.listening.find((l) => l.protocol === 'udp')!.port;
    tcpPort = backend.listening.find((l) => l.protocol === 'tcp')!.port;
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    probe.on('message', (data) => {
      const text = data.toString();
      const callId = /\r\nCall-ID: (\S+)/i.exec(text)?.[1];
      const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1]);
      if (callId !== undefined) answers.get(callId)?.(status);
    });
  });

  afterAll(async () => {
    probe.close();
    await backend.close();
  });

  /** OPTIONS over UDP: resolves with the status the backend answered. */
  function options(): Promise<number> {
    const callId = `probe-${++probes}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to OPTIONS: the stack stalled')), 2_000);
      answers.set(callId, (status) => {
        clearTimeout(timer);
        answers.delete(callId);
        resolve(status);
      });
      probe.send(Buffer.from(OPTIONS(`p${probes}`, callId)), udpPort, '127.0.0.1');
    });
  }

  it('keeps answering over UDP', async () => {
    const sender = createSocket('udp4');
    await fc.assert(
      fc.asyncProperty(packet, async (data) => {
        await new Promise<void>((resolve) =>
          sender.send(data.subarray(0, 65_000), udpPort, '127.0.0.1', () => resolve()),
        );
        expect(await options()).toBe(200);
      }),
      { numRuns: 300 },
    );
    sender.close();
  });

  it('keeps answering over TCP, closing only the connection that sent garbage', async () => {
    await fc.assert(
      fc.asyncProperty(packet, async (data) => {
        await new Promise<void>((resolve) => {
          const socket = connect(tcpPort, '127.0.0.1', () => socket.end(data));
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.setTimeout(500, () => socket.destroy());
        });
        expect(await options()).toBe(200);
      }),
      { numRuns: 150 },
    );
  });

  it('holds no dialog open for what it turned down', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const live = [...backend.dialogs.values()].filter((d) => d.state !== 'terminated');
    expect(live).toEqual([]);
  });
});
