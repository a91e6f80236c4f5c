/** Real SIP messages of the call flows, the seeds of the parser and fuzz tests. */
const SDP =
  'v=0\r\no=- 8066321617929821805 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';

export const INVITE = [
  'INVITE sip:+818000000002@tn.operator.com;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'From: "Alice" <sip:+818000000001@operator.com;user=phone>;tag=1928301774',
  'To: <sip:+818000000002@tn.operator.com;user=phone>',
  'Call-ID: a84b4c76e66710@webrtc-gw.operator.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:127.0.0.1:5099>',
  'Supported: 100rel, timer',
  'Allow: INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, OPTIONS',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '',
  SDP,
].join('\r\n');

export const RINGING = [
  'SIP/2.0 183 Session Progress',
  'Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK776asdhds;received=127.0.0.1',
  'From: "Alice" <sip:+818000000001@operator.com;user=phone>;tag=1928301774',
  'To: <sip:+818000000002@tn.operator.com;user=phone>;tag=a6c85cf',
  'Call-ID: a84b4c76e66710@webrtc-gw.operator.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:+818000000002@127.0.0.1:5060>',
  'Require: 100rel',
  'RSeq: 1',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

export const BYE = [
  'BYE sip:gateway@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKbye1',
  'Max-Forwards: 70',
  'From: <sip:+818000000002@tn.operator.com;user=phone>;tag=a6c85cf',
  'To: "Alice" <sip:+818000000001@operator.com;user=phone>;tag=1928301774',
  'Call-ID: a84b4c76e66710@webrtc-gw.operator.com',
  'CSeq: 2 BYE',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

export const OPTIONS = (branch: string, callId: string) =>
  [
    'OPTIONS sip:gateway@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK${branch};rport`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=probe',
    'To: <sip:gateway@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
