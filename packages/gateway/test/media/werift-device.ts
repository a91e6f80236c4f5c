import { randomInt } from 'node:crypto';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';

/**
 * A device in tests: a werift RTCPeerConnection in this process, sending and receiving one audio
 * stream. werift's defaults reach out (a public STUN server, every interface, mDNS lookups), so
 * it is held to 127.0.0.1: no STUN server, loopback candidates and candidate pairs only.
 */
export interface WebRtcDevice {
  readonly pc: RTCPeerConnection;
  /** Payloads received, by payload type. */
  readonly received: Map<number, Buffer[]>;
  createOffer(): Promise<string>;
  acceptAnswer(sdp: string): Promise<void>;
  answer(offerSdp: string): Promise<string>;
  connected(timeoutMs?: number): Promise<void>;
  send(count: number, payloadFor: (index: number) => Buffer): Promise<void>;
  payloads(payloadType: number): Buffer[];
  clear(): void;
  close(): Promise<void>;
}

export type DeviceCodec = 'opus' | 'pcmu' | 'pcma';

const CODECS: Record<DeviceCodec, () => RTCRtpCodecParameters> = {
  opus: () =>
    new RTCRtpCodecParameters({
      mimeType: 'audio/opus',
      clockRate: 48000,
      channels: 2,
      payloadType: 111,
      parameters: 'minptime=10;useinbandfec=1',
    }),
  pcmu: () =>
    new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
  pcma: () =>
    new RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
};

/** Keeps only loopback candidates: no check in a test leaves the machine. */
function loopbackOnly(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || / 127\.0\.0\.1 /.test(line))
    .join('\r\n');
}

export function createWebRtcDevice(codecs: readonly DeviceCodec[] = ['opus', 'pcmu', 'pcma']): WebRtcDevice {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceFilterCandidatePair: (pair) =>
      pair.localCandidate.host === '127.0.0.1' && pair.remoteCandidate.host === '127.0.0.1',
    codecs: { audio: codecs.map((name) => CODECS[name]()) },
  });
  const track = new MediaStreamTrack({ kind: 'audio' });
  pc.addTransceiver(track, { direction: 'sendrecv' });
  const received = new Map<number, Buffer[]>();
  // werift signals the same track again after a renegotiation: record each track once.
  const tracks = new Set<string>();
  pc.onTrack.subscribe((remoteTrack) => {
    if (tracks.has(remoteTrack.uuid)) return;
    tracks.add(remoteTrack.uuid);
    remoteTrack.onReceiveRtp.subscribe((packet) => {
      const list = received.get(packet.header.payloadType) ?? [];
      list.push(Buffer.from(packet.payload));
      received.set(packet.header.payloadType, list);
    });
  });
  let sequence = randomInt(0, 0xffff);
  let timestamp = randomInt(0, 0xffff_ffff);

  return {
    pc,
    received,
    async createOffer() {
      await pc.setLocalDescription(await pc.createOffer());
      return loopbackOnly(pc.localDescription!.sdp);
    },
    async acceptAnswer(sdp) {
      await pc.setRemoteDescription({ type: 'answer', sdp });
    },
    async answer(offerSdp) {
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      return loopbackOnly(pc.localDescription!.sdp);
    },
    async connected(timeoutMs = 10_000) {
      if (pc.connectionState === 'connected') return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the device did not connect in ${timeoutMs} ms (${pc.connectionState})`)),
          timeoutMs,
        );
        const subscription = pc.connectionStateChange.subscribe((state) => {
          if (state === 'connected') {
            clearTimeout(timer);
            subscription.unSubscribe();
            resolve();
          } else if (state === 'failed' || state === 'closed') {
            clearTimeout(timer);
            subscription.unSubscribe();
            reject(new Error(`the device's connection ${state}`));
          }
        });
      });
    },
    async send(count, payloadFor) {
      for (let index = 0; index < count; index++) {
        const payload = payloadFor(index);
        const header = Buffer.alloc(12);
        header[0] = 0x80;
        header.writeUInt16BE(sequence, 2);
        header.writeUInt32BE(timestamp >>> 0, 4);
        sequence = (sequence + 1) & 0xffff;
        timestamp = (timestamp + payload.length) >>> 0;
        // werift's sender sets its own SSRC and the negotiated payload type.
        track.writeRtp(Buffer.concat([header, payload]));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    payloads(payloadType) {
      return received.get(payloadType) ?? [];
    },
    clear() {
      received.clear();
    },
    async close() {
      await pc.close();
    },
  };
}
