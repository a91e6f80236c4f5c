/** Addresses, display names and SIP URIs: nothing unvalidated reaches a SIP header. */
import { describe, expect, it } from 'vitest';
import {
  cleanDisplayName,
  e164Of,
  formatNameAddr,
  parseAddress,
  parseDisplayName,
  partyUri,
  phoneNumberFromUri,
  sipDisplayName,
  sipHost,
} from '../src/index.js';

const domain = sipHost('tn.operator.com');

describe('parseAddress', () => {
  it.each([
    [
      'tel:+818000000002',
      { kind: 'tel', number: '+818000000002' },
      'sip:+818000000002@tn.operator.com;user=phone',
    ],
    [
      'tel:5551234;phone-context=+1',
      { kind: 'tel-local', number: '5551234', phoneContext: '+1' },
      'sip:5551234;phone-context=+1@tn.operator.com;user=phone',
    ],
    ['sip:bob@example.com', { kind: 'sip', user: 'bob', host: 'example.com' }, 'sip:bob@example.com'],
    [
      'sip:+818000000002@operator.com',
      { kind: 'sip', user: '+818000000002' },
      'sip:+818000000002@operator.com',
    ],
    [
      'sip:5551234;phone-context=example.net@example.net;user=phone',
      { kind: 'sip-local', number: '5551234', phoneContext: 'example.net', host: 'example.net' },
      'sip:5551234;phone-context=example.net@example.net;user=phone',
    ],
    ['urn:service:sos', { kind: 'emergency', service: 'sos' }, 'urn:service:sos'],
    ['urn:service:sos.police', { kind: 'emergency', service: 'sos.police' }, 'urn:service:sos.police'],
    ['sip:anonymous@anonymous.invalid', { kind: 'anonymous' }, 'sip:anonymous@anonymous.invalid'],
    ['sip:a%2Bb@example.com', { kind: 'sip', user: 'a%2Bb' }, 'sip:a%2Bb@example.com'],
  ])('%s', (value, parsed, uri) => {
    const address = parseAddress(value, 'receiverAddress');
    expect(address).toMatchObject(parsed);
    expect(partyUri(address, domain)).toBe(uri);
  });

  it.each([
    ['CRLF injection', 'tel:+818000000002\r\nVia: evil'],
    ['LF only', 'tel:+818000000002\nX: y'],
    ['angle brackets', 'sip:bob@example.com>;tag=x<'],
    ['URI parameter injection', 'sip:bob@example.com;transport=tcp'],
    ['header injection via ?', 'sip:bob@example.com?Route=evil'],
    ['quotes', 'sip:"bob"@example.com'],
    ['spaces', 'tel:+81 8000 0000 02'],
    ['unicode digits', 'tel:+８１８０００００００２'],
    ['unicode host', 'sip:bob@exämple.com'],
    ['E.164 starting with 0', 'tel:+0123456789'],
    ['too long', `tel:+${'1'.repeat(20)}`],
    ['http URL', 'https://example.com'],
    ['%-escaped CRLF', 'sip:a%0D%0Ab@example.com'],
    ['%-escaped angle bracket', 'sip:a%3Eb@example.com'],
    ['broken %-escape', 'sip:a%zzb@example.com'],
    ['not a string', 42],
    ['over 256 characters', `sip:${'a'.repeat(250)}@example.com`],
  ])('refuses %s with 400 INVALID_ARGUMENT', (_name, value) => {
    expect(() => parseAddress(value, 'receiverAddress')).toThrowError(
      expect.objectContaining({ status: 400, code: 'INVALID_ARGUMENT' }),
    );
  });

  it('e164Of names the number of tel and sip forms', () => {
    expect(e164Of(parseAddress('tel:+818000000001', 'x'))).toBe('+818000000001');
    expect(e164Of(parseAddress('sip:+818000000001@operator.com', 'x'))).toBe('+818000000001');
    expect(e164Of(parseAddress('sip:alice@operator.com', 'x'))).toBeUndefined();
  });
});

describe('display names', () => {
  it.each([['Alice'], ['山田 太郎'], ['Zoë 👩‍💻'], ['O\'Brien "the" \\ man']])('accepts %s', (name) => {
    expect(parseDisplayName(name, 'originatorName')).toBe(name);
  });

  it.each([
    ['CR LF', 'Alice\r\nVia: evil'],
    ['NUL', 'Al\0ice'],
    ['tab', 'Al\tice'],
    ['bidi override', 'Alice\u202Eecila'],
    ['line separator', 'Alice\u2028Bob'],
    ['lone surrogate', 'Alice\ud800'],
    ['C1 control', 'Alice\u0085'],
    ['over 256 characters', 'A'.repeat(257)],
  ])('refuses %s', (_name, value) => {
    expect(() => parseDisplayName(value, 'originatorName')).toThrowError(
      expect.objectContaining({ status: 400 }),
    );
  });

  it('escapes quotes and backslashes as quoted-pairs (RFC 3261 §25.1)', () => {
    const uri = partyUri(parseAddress('tel:+818000000001', 'x'), domain);
    expect(formatNameAddr({ uri, displayName: sipDisplayName('A "B" \\ C') })).toBe(
      '"A \\"B\\" \\\\ C" <sip:+818000000001@tn.operator.com;user=phone>',
    );
  });

  it('cleans names from the network instead of refusing them', () => {
    expect(cleanDisplayName('Bob\r\nX-Evil: 1\u202E')).toBe('BobX-Evil: 1');
    expect(cleanDisplayName('\u0000\u0001')).toBeUndefined();
    expect(cleanDisplayName(undefined)).toBeUndefined();
  });
});

describe('URIs from the network', () => {
  it.each([
    ['sip:+818000000001@operator.com;user=phone', '+818000000001'],
    ['tel:+818000000001', '+818000000001'],
    ['sips:+818000000001@operator.com', '+818000000001'],
    ['sip:alice@operator.com', undefined],
    ['sip:+81800000000\r\n1@operator.com', undefined],
  ])('phoneNumberFromUri(%j) = %j', (uri, phone) => {
    expect(phoneNumberFromUri(uri)).toBe(phone);
  });

  it('sipHost refuses configuration that is not a host', () => {
    expect(() => sipHost('operator.com\r\nX: y')).toThrow();
    expect(() => sipHost('a b')).toThrow();
    expect(sipHost('192.0.2.1')).toBe('192.0.2.1');
  });
});
