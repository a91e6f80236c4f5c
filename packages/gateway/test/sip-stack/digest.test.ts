import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseDigestChallenge, pickChallenge } from '../../src/sip/ua/digest.js';

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
const CHALLENGE = (algorithm: string) =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
const CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
const credentials = { username: 'Mufasa', password: 'Circle of Life' };
const request = { method: 'GET', uri: '/dir/index.html' };

describe('digest authentication (RFC 2617, RFC 7616, RFC 8760)', () => {
  it.each([
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
  ])('answers the RFC 7616 example with %s', (algorithm, response) => {
    const challenge = parseDigestChallenge(CHALLENGE(algorithm))!;
    const header = digestAuthorization(challenge, credentials, request, 1, CNONCE);
    expect(header).toContain(`response="${response}"`);
    expect(header).toContain('nc=00000001');
    expect(header).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
  });

  it('prefers SHA-256 when a registrar offers both (RFC 8760 §2.4)', () => {
    expect(pickChallenge([CHALLENGE('MD5'), CHALLENGE('SHA-256')])?.algorithm).toBe('SHA-256');
    expect(pickChallenge(['Basic realm="x"', CHALLENGE('MD5')])?.algorithm).toBe('MD5');
  });

  it('answers a challenge without qop the RFC 2069 way', () => {
    const challenge = parseDigestChallenge('Digest realm="sip.example", nonce="abc"')!;
    expect(
      digestAuthorization(
        challenge,
        { username: 'u', password: 'p' },
        { method: 'REGISTER', uri: 'sip:sip.example' },
      ),
    ).not.toContain('qop=');
  });

  it.each([
    'Basic realm="x"',
    'Digest realm="x"',
    'Digest nonce="n"',
    'Digest realm="x", nonce="n", algorithm=SHA-512-256',
    'Digest realm="x", nonce="n", qop="auth-int"',
  ])('ignores the challenge %s', (text) => expect(parseDigestChallenge(text)).toBeUndefined());
});
