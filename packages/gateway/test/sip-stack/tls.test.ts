/**
 * SIP over TLS (RFC 3261 §26.2): a call between two embedded user agents on
 * 127.0.0.1, the far end serving a certificate of a test CA that the caller
 * trusts; a caller that does not trust it never gets a call through.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../../test/conformance/support/pki.js';
import { buildGateway } from '../../src/http/server.js';
import { EmbeddedSipBackend } from '../../src/sip/ua/embedded-sip-backend.js';
import type { SipUri } from '../../src/sip/uri.js';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const invite = (callId: string) => ({
  callId,
  requestUri: 'sip:+818000000002@tn.operator.com;user=phone' as SipUri,
  from: { uri: 'sip:+818000000001@operator.com;user=phone' as SipUri },
  to: { uri: 'sip:+818000000002@tn.operator.com;user=phone' as SipUri },
  sdp: SDP,
});

describe('SIP over TLS', () => {
  let pki: TestPki;
  let far: EmbeddedSipBackend;
  let port: number;

  beforeAll(async () => {
    pki = await createTestPki();
    far = await EmbeddedSipBackend.start({
      listen: ['tls:127.0.0.1:0'],
      tls: { key: pki.key, cert: pki.cert },
    });
    port = far.listening[0]!.port;
    far.on('invite', ({ callId }) => void far.answer(callId, { status: 200, sdp: SDP }));
  });
  afterAll(async () => {
    await far?.close();
    await pki?.cleanup();
  });

  it('places a call over TLS to a peer whose certificate it trusts; BYE on the same connection', async () => {
    const gateway = await EmbeddedSipBackend.start({
      listen: ['tls:127.0.0.1:0'],
      outboundProxy: `sips:127.0.0.1:${port}`,
      tls: { key: pki.key, cert: pki.cert, ca: pki.caPem },
    });
    try {
      const answered = new Promise<string>((resolve) => gateway.on('answered', ({ sdp }) => resolve(sdp)));
      const byes = new Promise<string>((resolve) => far.on('bye', ({ callId }) => resolve(callId)));
      const seen: string[] = [];
      gateway.onTrace((direction, message) => {
        if (direction === 'out' && message.kind === 'request')
          seen.push(message.headers.getAll('via')[0] ?? '');
      });
      await gateway.invite(invite('tls-1'));
      expect(await answered).toContain('m=audio 40000 RTP/AVP 0');
      await gateway.bye('tls-1');
      expect(await byes).toBe('tls-1');
      expect(seen[0]).toMatch(/^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK/);
    } finally {
      await gateway.close();
    }
  });

  it('refuses to send a call to a peer whose certificate it cannot verify', async () => {
    const gateway = await EmbeddedSipBackend.start({
      listen: ['tls:127.0.0.1:0'],
      outboundProxy: `sips:127.0.0.1:${port}`,
      tls: { key: pki.key, cert: pki.cert },
    });
    try {
      await expect(gateway.invite(invite('tls-2'))).rejects.toThrow(/certificate/i);
    } finally {
      await gateway.close();
    }
  });

  it('a gateway listens for SIP over TLS from its key and certificate files, and calls a sips: proxy trusting SIP_TLS_CA_FILE', async () => {
    const server = await buildGateway({
      logLevel: 'error',
      sipNetwork: 'external',
      sipListen: ['tls:127.0.0.1:0'],
      sipOutboundProxy: `sips:127.0.0.1:${port}`,
      sipTlsKeyFile: join(pki.dir, 'leaf.key'),
      sipTlsCertFile: join(pki.dir, 'leaf.crt'),
      sipTlsCaFile: pki.caFile,
      mediaBackend: 'loopback',
    });
    try {
      expect(server.sipListening[0]).toMatch(/^tls:127\.0\.0\.1:\d+$/);
      const sip = server.gateway.sip as EmbeddedSipBackend;
      const answered = new Promise<void>((resolve) => sip.on('answered', () => resolve()));
      await sip.invite(invite('tls-3'));
      await answered;
      await sip.bye('tls-3');
    } finally {
      await server.close();
    }
    await expect(
      buildGateway({
        sipNetwork: 'external',
        sipListen: ['tls:127.0.0.1:0'],
        sipOutboundProxy: 'sip:127.0.0.1:5999',
      }),
    ).rejects.toThrow(/SIP_TLS_KEY_FILE and SIP_TLS_CERT_FILE/);
  });
});
