import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  createMediasoupMediaBackend,
  type MediasoupMediaBackend,
  type MediasoupMediaBackendOptions,
  type MediasoupMediaStats,
} from '../../src/media/mediasoup/index.js';
import { realtimePriority } from '../../src/media/priority.js';
import { rtpPayloadBounds } from '../../src/media/rtp-packet.js';
import { RtpPeer, WeriftDevice } from '../../src/testing/index.js';
import {
  bindable,
  type Cleanups,
  codecNames,
  expectTonesBothWays,
  mayRunRealtime,
  openOutboundCall,
  rtpSdp,
  sleep,
  waitFor,
  webRtcSdp,
} from './media-calls.js';
import { describeMediaBackendContract } from './media-contract.js';
import { locateWorkerBin } from './mediasoup-worker.js';

const OPUS_ONLY = [
  { payload: 111, name: 'opus', rate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
];

const workerBin = locateWorkerBin();
if (workerBin === undefined) {
  console.warn(
    'mediasoup backend tests skipped: no worker binary; build it with `npm run build:mediasoup-worker` (or set MEDIASOUP_WORKER_BIN)',
  );
}

const NOTHING_LIVE: Omit<MediasoupMediaStats, 'workers'> = {
  endpoints: 0,
  udpSockets: 0,
  webRtcTransports: 0,
  routers: 0,
  transports: 0,
  producers: 0,
  consumers: 0,
};

describe.skipIf(workerBin === undefined)('mediasoup', () => {
  describeMediaBackendContract(
    'mediasoup',
    (config) =>
      createMediasoupMediaBackend({
        workerBin: workerBin!,
        // One worker is enough for a test and leaves the second core to the others.
        workers: 1,
        listenIp: config.address,
        rtcMinPort: config.rtpPortMin,
        rtcMaxPort: config.rtpPortMax,
      }),
    { rtpPortMin: 43_200, rtpPortMax: 43_399 },
  );
});

/**
 * Two workers started with `options`: `check` looks at how they were started, then a call through
 * them relays tones both ways; everything is closed afterwards.
 */
async function relayOnTwoWorkers(
  options: MediasoupMediaBackendOptions,
  label: string,
  check: (backend: MediasoupMediaBackend) => void,
): Promise<void> {
  const backend = await createMediasoupMediaBackend({ workerBin: workerBin!, workers: 2, ...options });
  const cleanups: Cleanups = [];
  try {
    check(backend);
    await expectTonesBothWays(await openOutboundCall(backend, cleanups), label);
  } finally {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    await backend.close();
  }
}

describe.skipIf(workerBin === undefined)('mediasoup workers at a nice value (MEDIA_NICE)', () => {
  it('runs every worker at it and relays; the gateway keeps its own', async () => {
    const main = getPriority(0);
    // Raising a nice value needs no privilege; lowering one needs root or CAP_SYS_NICE.
    const nice = Math.min(19, main + 5);
    await relayOnTwoWorkers(
      { nice, rtcMinPort: 43_400, rtcMaxPort: 43_439 },
      'a worker at nice +5',
      (niced) => {
        expect(niced.workerPids.map((pid) => getPriority(pid))).toEqual([nice, nice]);
        expect(getPriority(0)).toBe(main);
      },
    );
    await expect(createMediasoupMediaBackend({ workerBin: workerBin!, nice: 20 })).rejects.toThrow(
      'media nice 20 must be an integer from -20 to 19',
    );
  });
});

// Putting a thread under SCHED_RR needs root or CAP_SYS_NICE: CI runs as root.
describe.skipIf(workerBin === undefined || !mayRunRealtime)(
  'mediasoup workers under SCHED_RR (MEDIA_REALTIME)',
  () => {
    it('runs every thread of every worker at the priority and relays; the gateway stays normal', async () => {
      await relayOnTwoWorkers(
        { realtime: 4, rtcMinPort: 43_440, rtcMaxPort: 43_479 },
        'a worker under SCHED_RR',
        (realtime) => {
          for (const pid of realtime.workerPids) {
            const threads = readdirSync(`/proc/${pid}/task`).map(Number);
            expect(threads.map((tid) => realtimePriority(tid, pid))).toEqual(threads.map(() => 4));
          }
          expect(realtimePriority(process.pid)).toBe(0);
        },
      );
    });
  },
);

describe.skipIf(workerBin === undefined)('mediasoup media backend: beyond the contract', () => {
  // It relays one codec end to end and never transcodes; its objects live in worker processes.
  let backend: MediasoupMediaBackend;
  const cleanups: Cleanups = [];

  beforeAll(async () => {
    backend = await createMediasoupMediaBackend({
      workerBin: workerBin!,
      workers: 1,
      rtcMinPort: 43_000,
      rtcMaxPort: 43_199,
      listenIp: '127.0.0.1',
      announcedAddress: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await backend?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    // Every case closed its endpoints: nothing of theirs may live on in the worker.
    expect(backend.stats()).toEqual({ workers: 1, ...NOTHING_LIVE });
  });

  it('offers the SIP side the device’s codec alone, and refuses an answer with the other G.711 law (no transcoding)', async () => {
    const device = new WeriftDevice();
    cleanups.push(() => device.close());
    const sip = await RtpPeer.open();
    cleanups.push(() => sip.close());
    const { endpoint, webrtcAnswer, rtpOffer } = await backend.createFromWebRtcOffer(
      webRtcSdp(await device.createOffer(), 'offer'),
    );
    cleanups.push(() => endpoint.close());
    expect(codecNames(webrtcAnswer)).toEqual(['pcmu', 'telephone-event']);
    // The device's payload type numbers go to the SIP side (the router relays one numbering).
    expect(rtpOffer).toMatch(/^m=audio \d+ RTP\/AVP 0 126\r$/m);
    const answer = endpoint.setRtpAnswer(rtpSdp(sip.sdp({ laws: ['pcma'] })));
    await expect(answer).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(answer).rejects.toThrow(/does not accept the offered codec pcmu/);
  });

  it('late-offer call: offers PCMU alone on both legs; an ACK answering with the other G.711 law is refused (no transcoding)', async () => {
    const sip = await RtpPeer.open();
    cleanups.push(() => sip.close());
    const { endpoint, rtpOffer, webrtcOffer } = await backend.createOffers();
    cleanups.push(() => endpoint.close());
    expect(rtpOffer).toMatch(/^m=audio \d+ RTP\/AVP 0 101\r$/m);
    expect(webrtcOffer).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 101\r$/m);
    sip.setRemoteFromSdp(rtpOffer);
    const answer = endpoint.setRtpAnswer(rtpSdp(sip.sdp({ laws: ['pcma'] })));
    await expect(answer).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(answer).rejects.toThrow(/does not accept the offered codec pcmu/);
  });

  it('refuses a device offer sharing no codec with the SIP side (INVALID_ARGUMENT), leaving nothing behind', async () => {
    const g711Only = await createMediasoupMediaBackend({
      workerBin: workerBin!,
      workers: 1,
      rtcMinPort: 44_000,
      rtcMaxPort: 44_099,
      outboundCodecs: ['pcmu', 'pcma'],
    });
    const device = new WeriftDevice({ codecs: OPUS_ONLY });
    try {
      const attempt = g711Only.createFromWebRtcOffer(webRtcSdp(await device.createOffer(), 'offer'));
      await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(attempt).rejects.toThrow(/shares no audio codec/);
      expect(g711Only.stats()).toEqual({ workers: 1, ...NOTHING_LIVE });
    } finally {
      await device.close();
      await g711Only.close();
    }
  });

  it('offers the SIP side Opus, on the device’s payload type, when Opus comes first in outboundCodecs', async () => {
    const opusFirst = await createMediasoupMediaBackend({
      workerBin: workerBin!,
      workers: 1,
      rtcMinPort: 44_100,
      rtcMaxPort: 44_199,
      outboundCodecs: ['opus', 'pcmu'],
    });
    const device = new WeriftDevice();
    try {
      const { endpoint, webrtcAnswer, rtpOffer } = await opusFirst.createFromWebRtcOffer(
        webRtcSdp(await device.createOffer(), 'offer'),
      );
      // With the device's 48 kHz telephone-event (RFC 4733 §2.1: clocked like the voice).
      expect(webrtcAnswer).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111 110\r$/m);
      expect(rtpOffer).toMatch(/^m=audio \d+ RTP\/AVP 111 110\r$/m);
      expect(rtpOffer).toContain('a=rtpmap:111 opus/48000/2');
      await endpoint.close();
    } finally {
      await device.close();
      await opusFirst.close();
    }
  });

  it('relays RFC 4733 events at 48 kHz on an Opus call, from the device to the SIP side and back', async () => {
    const opusFirst = await createMediasoupMediaBackend({
      workerBin: workerBin!,
      workers: 1,
      rtcMinPort: 44_200,
      rtcMaxPort: 44_299,
      outboundCodecs: ['opus'],
    });
    cleanups.push(() => opusFirst.close());
    const device = new WeriftDevice();
    cleanups.push(() => device.close());
    const sip = await RtpPeer.open();
    cleanups.push(() => sip.close());
    const { endpoint, webrtcAnswer, rtpOffer } = await opusFirst.createFromWebRtcOffer(
      webRtcSdp(await device.createOffer(), 'offer'),
    );
    cleanups.push(() => endpoint.close());
    expect(webrtcAnswer).toMatch(/^a=rtpmap:110 telephone-event\/48000\r$/m);
    expect(rtpOffer).toMatch(/^m=audio \d+ RTP\/AVP 111 110\r$/m);
    await device.acceptAnswer(webrtcAnswer);
    sip.setRemoteFromSdp(rtpOffer);
    await endpoint.setRtpAnswer(rtpSdp(sip.sdp({ opus: true, laws: [], telephoneEvent: 110 })));
    await device.connected();
    // Voice first: each producer learns its stream (SSRC) from its first voice packet.
    const frame = Buffer.alloc(60, 0x42);
    await waitFor(() => {
      sip.sendRtp(111, frame);
      device.sendRaw(111, frame);
      return device.payloads.length > 0 && sip.payloads.length > 0;
    }, 'Opus voice both ways');
    for (let i = 0; i < 5; i++) {
      device.sendRaw(110, Buffer.from([3, i === 4 ? 0x8a : 0x0a, 0x03, 0xc0]), i === 0);
      sip.sendEvent(110, 9, i === 4);
      await sleep(20);
    }
    await waitFor(() => sip.events.length >= 5 && device.events.length >= 5, 'events relayed both ways');
    expect(sip.events.map((e) => [e.payloadType, e.event])).toContainEqual([110, 3]);
    expect(sip.events.at(-1)?.end).toBe(true);
    expect(new Set(device.events)).toEqual(new Set([9]));
  });

  it('closing an endpoint releases its UDP ports and every mediasoup object', async () => {
    const call = await openOutboundCall(backend, cleanups);
    await expectTonesBothWays(call, 'before closing');
    const endpoint = backend.endpoints.get(call.endpoint.id)!;
    const ports = endpoint.localPorts;
    expect(ports.length).toBe(3); // WebRTC, RTP, RTCP
    expect(backend.stats()).toMatchObject({
      endpoints: 1,
      routers: 1,
      transports: 2,
      producers: 2,
      consumers: 2,
    });
    await call.endpoint.close();
    // close() resolves once the worker closed the router: its objects and sockets are gone.
    expect(backend.stats()).toEqual({ workers: 1, ...NOTHING_LIVE });
    for (const port of ports) expect(await bindable(port), `port ${port} is free again`).toBe(true);
    await expect(call.endpoint.hold(true)).rejects.toThrow(/closed/);
  });

  describe('SRTP with Debian libsrtp2 (the patched worker)', () => {
    for (const cryptoSuite of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_256_GCM'] as const) {
      it(`${cryptoSuite}: two SRTP PlainTransports encrypt and decrypt RTP both ways`, async () => {
        await expectSrtpBothWays(workerBin!, cryptoSuite);
      });
    }
  });
});

async function loopbackSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

function rtpPacket(ssrc: number, sequence: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = 0; // PCMU
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(sequence * 160, 4);
  header.writeUInt32BE(ssrc, 8);
  return Buffer.concat([header, payload]);
}

/**
 * plain RTP ─▶ PlainTransport ─▶ SRTP PlainTransport ═▶ (wire, recorded) ═▶ SRTP PlainTransport ─▶ PlainTransport ─▶ plain RTP
 * and the same back: what leaves one SRTP transport is ciphertext the other decrypts to the
 * original payload, in both directions.
 */
async function expectSrtpBothWays(workerBin: string, cryptoSuite: types.SrtpCryptoSuite): Promise<void> {
  const mediasoup = await import('mediasoup');
  expect(mediasoup.workerBin).toBe(workerBin);
  const worker = await mediasoup.createWorker({ logLevel: 'warn', disableLiburing: true });
  const sockets: Socket[] = [];
  try {
    const router = await worker.createRouter({
      mediaCodecs: [{ kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 }],
    });
    const listenInfo: types.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };
    const plain = { comedia: false, rtcpMux: true, listenInfo } as const;
    const srtp = { ...plain, enableSrtp: true, srtpCryptoSuite: cryptoSuite } as const;
    const [plainA, srtpA, srtpB, plainB] = await Promise.all([
      router.createPlainTransport(plain),
      router.createPlainTransport(srtp),
      router.createPlainTransport(srtp),
      router.createPlainTransport(plain),
    ]);
    const [nodeA, nodeB, wire] = await Promise.all([loopbackSocket(), loopbackSocket(), loopbackSocket()]);
    sockets.push(nodeA, nodeB, wire);

    // The wire between the SRTP transports: forwards each packet to the other one and keeps it.
    const onWire: Buffer[] = [];
    wire.on('message', (packet, from) => {
      onWire.push(packet);
      const to = from.port === srtpA.tuple.localPort ? srtpB.tuple.localPort : srtpA.tuple.localPort;
      wire.send(packet, to, '127.0.0.1');
    });
    await plainA.connect({ ip: '127.0.0.1', port: nodeA.address().port });
    await plainB.connect({ ip: '127.0.0.1', port: nodeB.address().port });
    // Each side decrypts with the key the other side encrypts with.
    await srtpA.connect({
      ip: '127.0.0.1',
      port: wire.address().port,
      srtpParameters: srtpB.srtpParameters!,
    });
    await srtpB.connect({
      ip: '127.0.0.1',
      port: wire.address().port,
      srtpParameters: srtpA.srtpParameters!,
    });

    const pcmu = { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000 };
    const capabilities: types.RtpCapabilities = {
      codecs: [{ kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 }],
    };
    /** One direction: `from` plain side → SRTP `encrypting` → SRTP `decrypting` → `to` plain side. */
    const relay = async (
      from: types.PlainTransport,
      encrypting: types.PlainTransport,
      decrypting: types.PlainTransport,
      to: types.PlainTransport,
      ssrc: number,
    ) => {
      const entering = await from.produce({
        kind: 'audio',
        rtpParameters: { codecs: [pcmu], encodings: [{ ssrc }] },
      });
      const encrypted = await encrypting.consume({ producerId: entering.id, rtpCapabilities: capabilities });
      const decrypted = await decrypting.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [pcmu],
          encodings: [{ ssrc: encrypted.rtpParameters.encodings![0]!.ssrc! }],
        },
      });
      await to.consume({ producerId: decrypted.id, rtpCapabilities: capabilities });
    };
    await relay(plainA, srtpA, srtpB, plainB, 0x1111_1111);
    await relay(plainB, srtpB, srtpA, plainA, 0x2222_2222);

    const received = { atA: [] as Buffer[], atB: [] as Buffer[] };
    // RTCP shares the port (rtcp-mux): keep the PCMU packets only.
    const isPcmu = (packet: Buffer) => (packet[1]! & 0x7f) === 0;
    nodeA.on('message', (packet) => isPcmu(packet) && received.atA.push(Buffer.from(payloadOf(packet))));
    nodeB.on('message', (packet) => isPcmu(packet) && received.atB.push(Buffer.from(payloadOf(packet))));

    const fromA = Array.from({ length: 10 }, () => randomBytes(160));
    const fromB = Array.from({ length: 10 }, () => randomBytes(160));
    for (let index = 0; index < 10; index++) {
      nodeA.send(rtpPacket(0x1111_1111, index + 1, fromA[index]!), plainA.tuple.localPort, '127.0.0.1');
      nodeB.send(rtpPacket(0x2222_2222, index + 1, fromB[index]!), plainB.tuple.localPort, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(
      () => received.atA.length >= 10 && received.atB.length >= 10,
      'SRTP relayed both ways',
      2_000,
    );

    // Decrypted intact on both sides.
    expect(received.atB.map((p) => p.toString('hex'))).toEqual(fromA.map((p) => p.toString('hex')));
    expect(received.atA.map((p) => p.toString('hex'))).toEqual(fromB.map((p) => p.toString('hex')));

    // Encrypted on the wire: no payload in clear, and every packet longer by the suite's tag
    // (SRTP leaves the header, extension included, in clear: RFC 3711 §3.1).
    const tagLength = cryptoSuite === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 16;
    const rtpOnWire = onWire.filter((packet) => (packet[1]! & 0x7f) === 0);
    expect(rtpOnWire.length).toBeGreaterThanOrEqual(20);
    for (const packet of rtpOnWire) expect(packet.length - headerLengthOf(packet)).toBe(160 + tagLength);
    for (const payload of [...fromA, ...fromB]) {
      expect(onWire.some((packet) => packet.includes(payload.subarray(0, 32)))).toBe(false);
    }
  } finally {
    for (const socket of sockets) socket.close();
    worker.close();
  }
}

function boundsOf(packet: Buffer) {
  const bounds = rtpPayloadBounds(packet, { payloadStart: 0, payloadEnd: 0 });
  if (bounds === undefined) throw new Error('not an RTP packet');
  return bounds;
}

/** An RTP packet's payload (after CSRCs and header extension, before padding). */
const payloadOf = (packet: Buffer): Buffer =>
  packet.subarray(boundsOf(packet).payloadStart, boundsOf(packet).payloadEnd);
/** Where an RTP packet's header ends (RFC 3550 §5.1: CSRCs, then the optional extension). */
const headerLengthOf = (packet: Buffer): number => boundsOf(packet).payloadStart;
