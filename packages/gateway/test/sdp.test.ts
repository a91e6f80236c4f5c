/** SDP parsing and checks: table tests per rule. */
import { describe, expect, it } from 'vitest';
import {
  checkRtpSdp,
  checkWebRtcSdp,
  LoopbackMediaBackend,
  parseRtpSdp,
  parseSdp,
  readWebRtcDescriptor,
} from '../src/index.js';
import { FLOW_WEBRTC_ANSWER, FLOW_WEBRTC_OFFER } from './helpers.js';

const FLOW_RTP_OFFER =
  'v=0\r\no=- 4576312012535546667 2 IN IP4 198.51.100.10\r\ns=SIP Call\r\nc=IN IP4 198.51.100.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\na=ptime:20\r\n';

const without = (sdp: string, pattern: RegExp) => sdp.replace(pattern, '');

const offer = (text: string) => checkWebRtcSdp(parseSdp(text, 'offer.sdp'), 'offer.sdp', 'offer');

describe('parseSdp', () => {
  it('accepts the call-flow offer and normalises LF-only line ends to CRLF', () => {
    const parsed = parseSdp(FLOW_WEBRTC_OFFER.replaceAll('\r\n', '\n'), 'offer.sdp');
    expect(parsed.text).toBe(FLOW_WEBRTC_OFFER);
    expect(parsed.description.media[0]?.type).toBe('audio');
  });

  it.each([
    ['not a string', 42, 'must be a string'],
    ['empty', '', 'is empty'],
    ['garbage', 'hello world', 'line 1 is not a valid SDP line'],
    ['missing v=0 first', FLOW_WEBRTC_OFFER.replace('v=0\r\n', ''), 'must start with "v=0"'],
    ['no m= line', FLOW_WEBRTC_OFFER.slice(0, FLOW_WEBRTC_OFFER.indexOf('m=audio')), 'no "m=" line'],
    ['no o= line', without(FLOW_WEBRTC_OFFER, /o=[^\r]*\r\n/), 'no "o=" line'],
    [
      'bare CR inside a line (header injection attempt)',
      FLOW_WEBRTC_OFFER.replace('s=-', 's=-\rINVITE sip:x'),
      'line 3',
    ],
    ['NUL byte', FLOW_WEBRTC_OFFER.replace('s=-', 's=\0'), 'line 3'],
    ['non-ASCII', FLOW_WEBRTC_OFFER.replace('s=-', 's=Ålice 😀'), 'line 3'],
    ['empty line in the middle', FLOW_WEBRTC_OFFER.replace('s=-\r\n', 's=-\r\n\r\n'), 'line 4'],
    ['10 000 lines', `v=0\r\n${'a=x\r\n'.repeat(9999)}`, 'more than 1000 lines'],
    ['more than 64 KiB', `v=0\r\ns=${'x'.repeat(70_000)}\r\n`, 'larger than 65536 bytes'],
    ['64 KiB in multi-byte characters', `v=0\r\ns=${'é'.repeat(33_000)}\r\n`, 'larger than 65536 bytes'],
    [
      'o= after m=',
      FLOW_WEBRTC_OFFER.replace(/(o=[^\r]*\r\n)/, '').replace(
        'a=mid:0\r\n',
        'a=mid:0\r\no=- 1 2 IN IP4 0.0.0.0\r\n',
      ),
      '"o=" line after the first "m="',
    ],
  ])('rejects %s with 400 INVALID_ARGUMENT', (_name, value, message) => {
    expect(() => parseSdp(value, 'offer.sdp')).toThrowError(
      expect.objectContaining({ status: 400, code: 'INVALID_ARGUMENT' }),
    );
    expect(() => parseSdp(value, 'offer.sdp')).toThrow(message);
  });

  it('honours configured limits', () => {
    expect(() => parseSdp(FLOW_WEBRTC_OFFER, 'x', { maxBytes: 100, maxLines: 1000 })).toThrow(
      'larger than 100 bytes',
    );
    expect(() => parseSdp(FLOW_WEBRTC_OFFER, 'x', { maxBytes: 65_536, maxLines: 5 })).toThrow(
      'more than 5 lines',
    );
  });
});

describe('checkWebRtcSdp', () => {
  it('reads ICE, DTLS and codecs of the call-flow offer', () => {
    expect(offer(FLOW_WEBRTC_OFFER).audio).toMatchObject({
      mid: '0',
      protocol: 'UDP/TLS/RTP/SAVPF',
      setup: 'actpass',
      iceUfrag: '4eKp',
      icePwd: 'D4sF5Pv9vx9ggaqxBlHbAFMx',
      fingerprint: { type: 'sha-256' },
      rtcpMux: true,
      direction: 'sendrecv',
      codecs: [
        { payload: 111, name: 'opus', rate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
        { payload: 0, name: 'pcmu', rate: 8000 },
        { payload: 8, name: 'pcma', rate: 8000 },
      ],
    });
  });

  it('accepts session-level ICE credentials and fingerprint', () => {
    const moved = FLOW_WEBRTC_OFFER.replace(/a=ice-ufrag:4eKp\r\n/, '')
      .replace(/a=ice-pwd:[^\r]*\r\n/, '')
      .replace('t=0 0\r\n', 't=0 0\r\na=ice-ufrag:4eKp\r\na=ice-pwd:D4sF5Pv9vx9ggaqxBlHbAFMx\r\n');
    expect(offer(moved).audio.iceUfrag).toBe('4eKp');
  });

  it.each([
    ['no audio m-line', FLOW_WEBRTC_OFFER.replace('m=audio', 'm=video'), 'no audio m-line'],
    [
      'plain RTP profile',
      FLOW_WEBRTC_OFFER.replace('UDP/TLS/RTP/SAVPF', 'RTP/AVP'),
      'must use UDP/TLS/RTP/SAVPF',
    ],
    ['no ICE ufrag', without(FLOW_WEBRTC_OFFER, /a=ice-ufrag:[^\r]*\r\n/), 'no ICE credentials'],
    ['no ICE pwd', without(FLOW_WEBRTC_OFFER, /a=ice-pwd:[^\r]*\r\n/), 'no ICE credentials'],
    [
      'short ICE pwd',
      FLOW_WEBRTC_OFFER.replace('D4sF5Pv9vx9ggaqxBlHbAFMx', 'short'),
      'malformed ICE credentials',
    ],
    ['no fingerprint', without(FLOW_WEBRTC_OFFER, /a=fingerprint:[^\r]*\r\n/), 'no DTLS fingerprint'],
    [
      'bad fingerprint hex (letter O)',
      FLOW_WEBRTC_OFFER.replace('6C:C0', '6C:CO'),
      'malformed sha-256 fingerprint',
    ],
    ['unknown hash', FLOW_WEBRTC_OFFER.replace('sha-256', 'md5'), 'unsupported fingerprint hash'],
    ['no a=setup', without(FLOW_WEBRTC_OFFER, /a=setup:[^\r]*\r\n/), 'needs a=setup'],
    [
      'no supported codec',
      FLOW_WEBRTC_OFFER.replace('111 0 8', '96').replace(/a=rtpmap:[^\r]*\r\n/g, 'a=rtpmap:96 VP8/90000\r\n'),
      'no audio codec the gateway supports',
    ],
    ['disabled stream', FLOW_WEBRTC_OFFER.replace('m=audio 42988', 'm=audio 0'), 'disabled'],
  ])('rejects an offer with %s', (_name, text, message) => {
    expect(() => offer(text)).toThrow(message);
  });

  it('requires active or passive in an answer (RFC 8842)', () => {
    expect(checkWebRtcSdp(parseSdp(FLOW_WEBRTC_ANSWER, 'a'), 'a', 'answer').audio.setup).toBe('active');
    expect(() => checkWebRtcSdp(parseSdp(FLOW_WEBRTC_OFFER, 'a'), 'a', 'answer')).toThrow(
      'needs a=setup:active|passive',
    );
  });

  it('readWebRtcDescriptor wants { sdp }', () => {
    expect(() => readWebRtcDescriptor('v=0', 'offer', 'offer')).toThrow('must be an object');
    expect(() => readWebRtcDescriptor({}, 'offer', 'offer')).toThrow('offer.sdp is required');
    expect(readWebRtcDescriptor({ sdp: FLOW_WEBRTC_OFFER }, 'offer', 'offer').audio.iceUfrag).toBe('4eKp');
  });
});

describe('checkRtpSdp (SIP side)', () => {
  it('reads the network offer of call flow 3.4.1 [2]', () => {
    expect(parseRtpSdp(FLOW_RTP_OFFER, 'sdp').audio).toMatchObject({
      address: '198.51.100.10',
      port: 49170,
      protocol: 'RTP/AVP',
      telephoneEvent: 101,
      codecs: [
        { payload: 0, name: 'pcmu' },
        { payload: 8, name: 'pcma' },
      ],
    });
  });

  it.each([
    ['no connection address', without(FLOW_RTP_OFFER, /c=[^\r]*\r\n/), 'no valid "c=" address'],
    [
      'a host name instead of an address',
      FLOW_RTP_OFFER.replace('c=IN IP4 198.51.100.10', 'c=IN IP4 evil.example'),
      'no valid "c=" address',
    ],
    ['DTLS profile', FLOW_RTP_OFFER.replace('RTP/AVP', 'UDP/TLS/RTP/SAVPF'), 'must use RTP/AVP'],
    [
      'only unknown codecs',
      FLOW_RTP_OFFER.replace('0 8 101', '18').replace(/a=rtpmap:[^\r]*\r\n/g, ''),
      'no codec the gateway relays',
    ],
  ])('rejects %s', (_name, text, message) => {
    expect(() => checkRtpSdp(parseSdp(text, 'sdp'), 'sdp')).toThrow(message);
  });
});

describe('loopback media SDP', () => {
  it('answers a WebRTC offer with a valid answer (ICE, fingerprint, setup:active, mid, first codec)', async () => {
    const media = new LoopbackMediaBackend();
    const { webrtcAnswer, rtpOffer } = await media.createFromWebRtcOffer(offer(FLOW_WEBRTC_OFFER));
    const answer = checkWebRtcSdp(parseSdp(webrtcAnswer, 'a'), 'a', 'answer');
    expect(answer.audio).toMatchObject({ setup: 'active', mid: '0', direction: 'sendrecv', rtcpMux: true });
    expect(answer.audio.codecs.map((c) => c.name)).toEqual(['opus']);
    expect(answer.audio.iceUfrag).not.toBe('4eKp');
    expect(parseRtpSdp(rtpOffer, 'rtp').audio.codecs.map((c) => c.name)).toEqual(['pcmu', 'pcma']);
    // Passive when the device chose active; recvonly for a sendonly offer.
    const active = FLOW_WEBRTC_OFFER.replace('a=setup:actpass', 'a=setup:active').replace(
      'a=sendrecv',
      'a=sendonly',
    );
    const second = await media.createFromWebRtcOffer(offer(active));
    expect(checkWebRtcSdp(parseSdp(second.webrtcAnswer, 'a'), 'a', 'answer').audio).toMatchObject({
      setup: 'passive',
      direction: 'recvonly',
    });
    await media.close();
    expect(media.endpoints.size).toBe(0);
  });

  it('offers WebRTC (actpass) for an RTP offer and answers the RTP side with one codec', async () => {
    const media = new LoopbackMediaBackend();
    const { webrtcOffer, rtpAnswer } = await media.createFromRtpOffer(parseRtpSdp(FLOW_RTP_OFFER, 'sdp'));
    expect(offer(webrtcOffer).audio.setup).toBe('actpass');
    expect(parseRtpSdp(rtpAnswer, 'sdp').audio.codecs.map((c) => c.name)).toEqual(['pcmu']);
  });
});
