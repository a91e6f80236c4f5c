import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  chooseCallCodecs,
  RELAYED_EVENTS_MIME_TYPE,
  routerMediaCodecs,
} from '../../src/media/mediasoup/codecs.js';
import { plainRtpDescription, webRtcDescription } from '../../src/media/mediasoup/sdp-writers.js';
import type { AudioCodec } from '../../src/sdp/media-info.js';
import { parseSdp } from '../../src/sdp/parse.js';
import { parseRtpSdp } from '../../src/sdp/rtp.js';
import { checkWebRtcSdp } from '../../src/sdp/webrtc.js';

/* What the mediasoup backend negotiates and writes, without a worker. */

const OPUS: AudioCodec = {
  payload: 111,
  name: 'opus',
  rate: 48000,
  channels: 2,
  fmtp: 'minptime=10;useinbandfec=1',
};
const PCMU: AudioCodec = { payload: 0, name: 'pcmu', rate: 8000 };
const PCMA: AudioCodec = { payload: 8, name: 'pcma', rate: 8000 };
const event = (payload: number, rate: number): AudioCodec => ({ payload, name: 'telephone-event', rate });

describe('chooseCallCodecs', () => {
  const cases: Array<{
    name: string;
    offered: AudioCodec[];
    events?: AudioCodec[];
    preference: Array<'opus' | 'pcmu' | 'pcma'>;
    expected: { audio: string; telephoneEvent?: number } | 'refused';
  }> = [
    {
      name: 'G.711 from a device offering Opus first',
      offered: [OPUS, PCMU, PCMA],
      events: [event(110, 48000), event(126, 8000)],
      preference: ['pcmu', 'pcma', 'opus'],
      expected: { audio: 'pcmu', telephoneEvent: 126 },
    },
    {
      name: 'PCMA when the SIP side offers only PCMA',
      offered: [PCMA],
      events: [event(101, 8000)],
      preference: ['pcma'],
      expected: { audio: 'pcma', telephoneEvent: 101 },
    },
    {
      name: 'Opus when both can, without 8 kHz events',
      offered: [OPUS, PCMU],
      events: [event(101, 8000)],
      preference: ['opus', 'pcmu'],
      expected: { audio: 'opus' },
    },
    {
      name: 'Opus with the 48 kHz events, not the 8 kHz ones',
      offered: [OPUS, PCMU],
      events: [event(126, 8000), event(110, 48000)],
      preference: ['opus', 'pcmu'],
      expected: { audio: 'opus', telephoneEvent: 110 },
    },
    { name: 'no codec in common', offered: [OPUS], preference: ['pcmu', 'pcma'], expected: 'refused' },
    {
      name: 'G.711 at a wrong clock rate',
      offered: [{ payload: 0, name: 'pcmu', rate: 16000 }],
      preference: ['pcmu'],
      expected: 'refused',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const choose = () => chooseCallCodecs(c.offered, c.events ?? [], c.preference, 'offer.sdp');
      if (c.expected === 'refused') {
        expect(choose).toThrow(InvalidArgumentError);
        return;
      }
      const chosen = choose();
      expect({
        audio: chosen.audio.name,
        ...(chosen.telephoneEvent === undefined ? {} : { telephoneEvent: chosen.telephoneEvent }),
      }).toEqual(c.expected);
    });
  }

  it('gives the router the offer’s payload type numbers', () => {
    expect(routerMediaCodecs({ audio: OPUS })).toEqual([
      {
        kind: 'audio',
        mimeType: 'audio/opus',
        clockRate: 48000,
        channels: 2,
        parameters: { minptime: 10, useinbandfec: 1 },
        rtcpFeedback: [],
        preferredPayloadType: 111,
      },
    ]);
    // Events go by the name of a codec the worker relays (its consumers drop telephone-event).
    expect(
      routerMediaCodecs({ audio: PCMU, telephoneEvent: 101 }).map((c) => [
        c.mimeType,
        c.preferredPayloadType,
      ]),
    ).toEqual([
      ['audio/PCMU', 0],
      [RELAYED_EVENTS_MIME_TYPE, 101],
    ]);
  });
});

describe('SDP the backend writes', () => {
  it('an RTP/AVP description the gateway’s own checks accept (G.711, telephone-event 101, RFC 3605 a=rtcp)', () => {
    const sdp = plainRtpDescription({
      origin: { sessionId: '42', version: 1 },
      address: '127.0.0.1',
      port: 40_000,
      rtcpPort: 40_003,
      call: { audio: PCMU, telephoneEvent: 101 },
      direction: 'sendrecv',
      sessionName: 'telegate',
    });
    const checked = parseRtpSdp(sdp, 'rtpOffer');
    expect(checked.audio).toMatchObject({
      address: '127.0.0.1',
      port: 40_000,
      telephoneEvent: 101,
      direction: 'sendrecv',
    });
    expect(sdp).toContain('a=rtcp:40003 IN IP4 127.0.0.1\r\n');
    expect(sdp).toMatch(/^m=audio 40000 RTP\/AVP 0 101\r$/m);
  });

  it('a WebRTC answer with ICE-lite, every candidate, the fingerprint and the SSRC it sends', () => {
    const sdp = webRtcDescription({
      origin: { sessionId: '42', version: 1 },
      address: '127.0.0.1',
      mid: '0',
      setup: 'passive',
      direction: 'sendrecv',
      call: { audio: OPUS },
      ice: {
        usernameFragment: 'abcdefgh12345678',
        password: 'abcdefghijklmnopqrstuvwxyz012345',
        iceLite: true,
      },
      candidates: [
        {
          foundation: 'udpcandidate',
          priority: 1076302079,
          ip: '127.0.0.1',
          address: '127.0.0.1',
          protocol: 'udp',
          port: 40_010,
          type: 'host',
        },
      ],
      fingerprint: { algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'ab').join(':') },
      sending: { ssrc: 1234, cname: 'cname', streamId: 'stream', trackId: 'track' },
    });
    const checked = checkWebRtcSdp(parseSdp(sdp, 'answer.sdp'), 'answer.sdp', 'answer');
    expect(checked.audio).toMatchObject({ setup: 'passive', rtcpMux: true, port: 40_010, mid: '0' });
    expect(sdp).toContain('a=ice-lite\r\n');
    expect(sdp).toContain('a=candidate:udpcandidate 1 udp 1076302079 127.0.0.1 40010 typ host\r\n');
    expect(sdp).toContain('a=ssrc:1234 cname:cname\r\n');
    expect(sdp).toContain('a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n');
  });
});
