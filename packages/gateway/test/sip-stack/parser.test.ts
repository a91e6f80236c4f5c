import { describe, expect, it } from 'vitest';
import { SipHeaders, sipRequest } from '../../src/sip/message/message.js';
import { parseDatagram, SipParseError, SipStreamFramer } from '../../src/sip/message/parser.js';
import { serializeMessage } from '../../src/sip/message/serializer.js';
import { BYE, INVITE, RINGING } from './messages.js';

const dgram = (text: string) => Buffer.from(text, 'utf8');

describe('parseDatagram', () => {
  it('reads a request line, headers and a body of Content-Length bytes', () => {
    const message = parseDatagram(dgram(INVITE));
    expect(message.kind).toBe('request');
    if (message.kind !== 'request') return;
    expect(message.method).toBe('INVITE');
    expect(message.uri).toBe('sip:+818000000002@tn.operator.com;user=phone');
    expect(message.headers.get('CALL-ID')).toBe('a84b4c76e66710@webrtc-gw.operator.com');
    expect(message.headers.getAll('supported')).toEqual(['100rel', 'timer']);
    expect(message.body.toString()).toMatch(/^v=0\r\n/);
    expect(message.body.toString()).toMatch(/a=sendrecv\r\n$/);
  });

  it('reads a status line', () => {
    const message = parseDatagram(dgram(RINGING));
    expect(message).toMatchObject({ kind: 'response', status: 183, reason: 'Session Progress' });
  });

  it.each([
    [
      'compact forms (§7.3.3)',
      'v: SIP/2.0/UDP h;branch=z9hG4bK1\r\ni: abc\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\nl: 0',
      'call-id',
      'abc',
    ],
    ['folded header (§7.3.1)', 'Subject: one\r\n  two', 'subject', 'one two'],
    ['any case of names', 'cAlL-iD: xyz', 'call-id', 'xyz'],
    ['spaces around the colon', 'Max-Forwards   :  70', 'max-forwards', '70'],
  ])('%s', (_what, headers, name, value) => {
    const message = parseDatagram(dgram(`OPTIONS sip:a@b SIP/2.0\r\n${headers}\r\n\r\n`));
    expect(message.headers.get(name)).toBe(value);
  });

  it('cuts the body at Content-Length, counted in bytes', () => {
    const message = parseDatagram(dgram('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 3\r\n\r\nçaXYZ'));
    expect(message.body.toString('utf8')).toBe('ça');
  });

  it.each([
    ['no blank line after the headers', 'OPTIONS sip:a@b SIP/2.0\r\nVia: x'],
    ['a malformed start line', 'HELLO\r\n\r\n'],
    ['a version other than SIP/2.0', 'OPTIONS sip:a@b SIP/3.0\r\n\r\n'],
    ['a status out of range', 'SIP/2.0 700 Huh\r\n\r\n'],
    ['a header line without a colon', 'OPTIONS sip:a@b SIP/2.0\r\nVia\r\n\r\n'],
    ['a header name that is no token', 'OPTIONS sip:a@b SIP/2.0\r\nV ia: x\r\n\r\n'],
    ['a NUL in a header', 'OPTIONS sip:a@b SIP/2.0\r\nVia: a\0b\r\n\r\n'],
    ['a bare CR in a header', 'OPTIONS sip:a@b SIP/2.0\r\nVia: a\rb\r\n\r\n'],
    ['a Content-Length beyond the datagram', 'OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabc'],
    ['a Content-Length that is no number', 'OPTIONS sip:a@b SIP/2.0\r\nContent-Length: abc\r\n\r\n'],
    ['two Content-Lengths', 'OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\nl: 0\r\n\r\n'],
    ['a continuation line first', 'OPTIONS sip:a@b SIP/2.0\r\n x\r\n\r\n'],
  ])('refuses %s with a SipParseError', (_what, text) => {
    expect(() => parseDatagram(dgram(text))).toThrow(SipParseError);
  });

  it('refuses more header fields than the limit, and messages over the size limit', () => {
    const many = Array.from({ length: 101 }, (_, i) => `X-H${i}: v`).join('\r\n');
    expect(() => parseDatagram(dgram(`OPTIONS sip:a@b SIP/2.0\r\n${many}\r\n\r\n`))).toThrow(/too many/);
    expect(() => parseDatagram(Buffer.alloc(70_000, 65))).toThrow(/too large/);
  });

  it('keeps what it read of a refused request, so it can be answered 400', () => {
    try {
      parseDatagram(
        dgram('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: x\r\n\r\n'),
      );
      expect.unreachable();
    } catch (error) {
      expect((error as SipParseError).partial?.headers.get('via')).toBe('SIP/2.0/UDP h;branch=z9hG4bK1');
    }
  });
});

describe('SipStreamFramer', () => {
  it('frames messages split anywhere and several in one chunk, skipping keep-alive CRLFs', () => {
    const stream = Buffer.from(`\r\n\r\n${INVITE}${BYE}\r\n`);
    for (const cut of [1, 7, 100, 300, stream.length - 3]) {
      const framer = new SipStreamFramer();
      const messages = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      expect(messages.map((m) => (m.kind === 'request' ? m.method : m.status))).toEqual(['INVITE', 'BYE']);
      expect(framer.buffered).toBe(0);
    }
  });

  it('needs Content-Length on a stream, refuses one that is no number, and bounds what it buffers', () => {
    expect(() => new SipStreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n\r\n'))).toThrow(
      /required/,
    );
    expect(() =>
      new SipStreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: abc\r\n\r\n')),
    ).toThrow(/number/);
    expect(() =>
      new SipStreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n')),
    ).toThrow(/too large/);
    const framer = new SipStreamFramer({ maxMessageBytes: 1000, maxHeaders: 100 });
    expect(() => framer.push(Buffer.alloc(1001, 65))).toThrow(/too large/);
  });
});

describe('serializeMessage', () => {
  it('writes Content-Length in bytes, whatever the message said', () => {
    const headers = new SipHeaders([
      ['Call-ID', 'x'],
      ['content-length', '1'],
    ]);
    const wire = serializeMessage(sipRequest('MESSAGE', 'sip:a@b', headers, 'héllo')).toString('utf8');
    expect(wire).toBe('MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 6\r\n\r\nhéllo');
  });

  it('round-trips the call-flow messages', () => {
    for (const text of [INVITE, RINGING, BYE]) {
      const again = parseDatagram(serializeMessage(parseDatagram(dgram(text))));
      expect(serializeMessage(again).toString()).toBe(
        serializeMessage(parseDatagram(dgram(text))).toString(),
      );
    }
  });
});
