/**
 * The process under test of the media benchmark (bundled by media.ts):
 * `werift` runs the werift media backend; `mediasoup <worker>` the mediasoup
 * backend with one worker process; `forward` is the peer, a bare UDP
 * forwarder (two sockets per call, no ICE, no DTLS, no SRTP, no rewriting).
 * Requests come over IPC and run concurrently.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createWeriftMediaBackend } from '../../packages/gateway/src/media/index.js';
import { createMediasoupMediaBackend } from '../../packages/gateway/src/media/mediasoup/index.js';
import type { MediaBackend, MediaEndpoint } from '../../packages/gateway/src/network/media-backend.js';
import { parseSdp } from '../../packages/gateway/src/sdp/parse.js';
import { checkRtpSdp } from '../../packages/gateway/src/sdp/rtp.js';
import { checkWebRtcSdp } from '../../packages/gateway/src/sdp/webrtc.js';

type Request =
  | { kind: 'create'; offer: string }
  | { kind: 'answer'; id: number; sdp: string }
  | { kind: 'forward'; a: number; b: number }
  | { kind: 'stats' }
  | { kind: 'inspect' }
  | { kind: 'closeAll' }
  | { kind: 'exit' };

const mode = process.argv[2];
const backend: MediaBackend & { workerPids?: number[] } =
  mode === 'mediasoup'
    ? await createMediasoupMediaBackend({
        workerBin: process.argv[3]!,
        workers: 1,
        listenIp: '127.0.0.1',
        rtcMinPort: 47_000,
        rtcMaxPort: 49_999,
      })
    : createWeriftMediaBackend({ bindAddress: '127.0.0.1', rtpPortMin: 46_000, rtpPortMax: 46_999 });
const endpoints = new Map<number, MediaEndpoint>();
const sockets: Socket[] = [];
let next = 1;

/**
 * CPU seconds the mediasoup workers (separate processes) have used: utime + stime of
 * /proc/<pid>/stat, in clock ticks of USER_HZ (100 per second on Linux).
 */
function workersCpuSeconds(): number {
  let ticks = 0;
  for (const pid of backend.workerPids ?? []) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

async function udp(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, resolve));
  socket.on('error', () => {});
  sockets.push(socket);
  return socket;
}

async function handle(request: Request): Promise<Record<string, unknown>> {
  switch (request.kind) {
    case 'create': {
      const created = await backend.createFromWebRtcOffer(
        checkWebRtcSdp(parseSdp(request.offer, 'offer'), 'offer', 'offer'),
      );
      const id = next++;
      endpoints.set(id, created.endpoint);
      return { id, webrtcAnswer: created.webrtcAnswer, rtpOffer: created.rtpOffer };
    }
    case 'answer':
      await endpoints.get(request.id)?.setRtpAnswer(checkRtpSdp(parseSdp(request.sdp, 'answer'), 'answer'));
      return {};
    case 'forward': {
      // Packets from peer A arrive on `toB` and leave towards B from `toA`, and back.
      const [fromA, fromB] = [await udp(), await udp()];
      fromA.on('message', (packet) => fromB.send(packet, request.b, '127.0.0.1'));
      fromB.on('message', (packet) => fromA.send(packet, request.a, '127.0.0.1'));
      return {
        portForA: (fromA.address() as AddressInfo).port,
        portForB: (fromB.address() as AddressInfo).port,
      };
    }
    case 'stats':
      return { cpu: process.cpuUsage(), workersCpu: workersCpuSeconds(), stats: backend.stats?.() };
    case 'inspect':
      return { endpoints: [...endpoints.values()].map((e) => (e as unknown as { state: unknown }).state) };
    case 'closeAll':
      await Promise.all([...endpoints.values()].map((e) => e.close()));
      endpoints.clear();
      for (const socket of sockets.splice(0)) socket.close();
      return {};
    case 'exit':
      await backend.close();
      process.exit(0);
  }
}

process.on('message', (request: Request & { requestId: number }) => {
  const { requestId } = request;
  handle(request).then(
    (reply) => process.send?.({ ok: true, requestId, ...reply }),
    (error: unknown) =>
      process.send?.({ ok: false, requestId, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.send?.({ ok: true, ready: mode });
