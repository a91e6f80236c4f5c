import { describe, expect, it } from 'vitest';
import { parseCSeq, parseNameAddr, parseRAck, parseUri, parseVia } from '../../src/sip/message/headers.js';
import { SipHeaders, splitList } from '../../src/sip/message/message.js';

describe('header readers', () => {
  it.each([
    ['SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport', { transport: 'UDP', host: '127.0.0.1', port: 5060 }],
    [
      'SIP / 2.0 / tcp gw.example.com;branch=z9hG4bK2',
      { transport: 'TCP', host: 'gw.example.com', port: undefined },
    ],
    ['SIP/2.0/TLS [::1]:5061;branch=z9hG4bK3', { transport: 'TLS', host: '[::1]', port: 5061 }],
  ])('Via %s', (text, expected) => {
    expect(parseVia(text)).toMatchObject(expected);
  });

  it.each(['SIP/2.0/UDP', 'SIP/2.0/UDP host:99999', 'HTTP/1.1/TCP host', 'SIP/2.0/UDP ho st'])(
    'refuses the Via %s',
    (text) => expect(parseVia(text)).toBeUndefined(),
  );

  it('keeps parameters such as __proto__ and constructor as plain keys', () => {
    const via = parseVia('SIP/2.0/UDP h;__proto__=x;constructor;branch=z9hG4bK1')!;
    expect(via.params.get('__proto__')).toBe('x');
    expect(via.params.get('constructor')).toBeNull();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    [
      '"Alice \\"A\\"" <sip:+818000000001@operator.com;user=phone>;tag=1',
      'Alice "A"',
      'sip:+818000000001@operator.com;user=phone',
      '1',
    ],
    ['Bob <sip:bob@b>', 'Bob', 'sip:bob@b', undefined],
    ['<tel:+818000000002>;tag=x', undefined, 'tel:+818000000002', 'x'],
    ['sip:carol@c;tag=9', undefined, 'sip:carol@c', '9'],
  ])('name-addr %s', (text, displayName, uri, tag) => {
    const parsed = parseNameAddr(text)!;
    expect(parsed.displayName).toBe(displayName);
    expect(parsed.uri).toBe(uri);
    expect(parsed.params.get('tag') ?? undefined).toBe(tag);
  });

  it.each(['"unterminated <sip:a@b>', '<sip:a@b', '<>', '"x" sip:a@b'])('refuses the name-addr %s', (text) =>
    expect(parseNameAddr(text)).toBeUndefined(),
  );

  it.each([
    [
      'sip:+818000000001@operator.com;user=phone',
      { scheme: 'sip', user: '+818000000001', host: 'operator.com' },
    ],
    [
      'sips:alice:secret@[::1]:5061;transport=tls',
      { scheme: 'sips', user: 'alice', host: '[::1]', port: 5061 },
    ],
    ['sip:127.0.0.1:5070;lr', { scheme: 'sip', user: undefined, host: '127.0.0.1', port: 5070 }],
    ['tel:+818000000002;phone-context=x', { scheme: 'tel', user: '+818000000002' }],
    ['urn:service:sos', { scheme: 'urn', user: 'service:sos' }],
  ])('URI %s', (text, expected) => expect(parseUri(text)).toMatchObject(expected));

  it.each(['mailto:a@b', 'sip:', 'sip:a b@c', 'sip:a@ho st', 'sip:a@h:0', 'nocolon'])(
    'refuses the URI %s',
    (text) => expect(parseUri(text)).toBeUndefined(),
  );

  it('CSeq and RAck', () => {
    expect(parseCSeq('314159 INVITE')).toEqual({ seq: 314159, method: 'INVITE' });
    expect(parseCSeq('x INVITE')).toBeUndefined();
    expect(parseCSeq('99999999999 INVITE')).toBeUndefined();
    expect(parseRAck('1 314159 INVITE')).toEqual({ rseq: 1, cseq: 314159, method: 'INVITE' });
    expect(parseRAck('1 INVITE')).toBeUndefined();
  });

  it('splits lists outside quotes and angle brackets, and edits the top Via', () => {
    expect(splitList('"a, b" <sip:x@y;p=1,2>, <sip:z@w>')).toEqual(['"a, b" <sip:x@y;p=1,2>', '<sip:z@w>']);
    const headers = new SipHeaders([['Via', 'SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2']]);
    expect(headers.shift('via')).toBe('SIP/2.0/UDP a;branch=z9hG4bK1');
    headers.prepend('v', 'SIP/2.0/UDP c;branch=z9hG4bK3');
    expect(headers.getAll('via')).toEqual(['SIP/2.0/UDP c;branch=z9hG4bK3', 'SIP/2.0/UDP b;branch=z9hG4bK2']);
  });
});
