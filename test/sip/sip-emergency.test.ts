/**
 * Emergency calls on the wire (RFC 6442): the INVITE goes to the service URN
 * with the caller's location by value, a PIDF-LO in a multipart body that the
 * `Geolocation` header points to by Content-ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatagram } from '../../packages/gateway/src/sip/message/parser.js';
import { serializeMessage } from '../../packages/gateway/src/sip/message/serializer.js';
import { register, sessionBody } from '../conformance/support/fixtures.js';
import { ALICE, type SipTestbed, startSipTestbed } from './support/harness.js';
import { freeUdpPort, haveSipp, startSipp } from './support/sipp.js';

describe.skipIf(!haveSipp())('emergency calls over SIP', () => {
  let bed: SipTestbed;
  let sippPort: number;

  beforeAll(async () => {
    sippPort = await freeUdpPort();
    bed = await startSipTestbed(sippPort, { emergencyCalls: true });
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('sends urn:service:sos with Geolocation and a multipart/mixed body of SDP and PIDF-LO', async () => {
    const peer = await startSipp({ scenario: 'uas-busy.xml', port: sippPort });
    const reg = await register(bed.gw, ALICE);
    const client = bed.gw.callHandling({ token: await bed.gw.token(ALICE) });
    const created = await client.createSession({
      params: { header: { registrationId: reg.registrationId } },
      body: sessionBody('+818000000002', ALICE, {
        receiverAddress: 'urn:service:sos',
        callType: 'EMERGENCY',
        locationDetails: {
          shape: 'Circle',
          coordinates: { latitude: 35.6812, longitude: 139.7671, radius: 15 },
          method: 'GPS',
        },
      }) as never,
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    expect(await peer.done).toMatchObject({ code: 0 });
    const callId = (await bed.gw.gateway.store.getSession(created.data!.mediaSessionId))!.callId;
    const invite = bed.messages(callId)[0]!.message;
    expect(invite.kind === 'request' && invite.uri).toBe('urn:service:sos');
    const contentType = invite.headers.get('content-type')!;
    const boundary = /^multipart\/mixed;boundary=(\S+)$/.exec(contentType)?.[1];
    expect(boundary).toBeDefined();
    const cid = /^<cid:(\S+)>$/.exec(invite.headers.get('geolocation') ?? '')?.[1];
    expect(cid).toBeDefined();
    const body = invite.body.toString('utf8');
    const parts = body.split(`--${boundary}`).slice(1, -1);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^\r\nContent-Type: application\/sdp\r\n\r\nv=0\r\n/);
    expect(parts[1]).toContain(`Content-ID: <${cid}>`);
    expect(parts[1]).toContain('Content-Type: application/pidf+xml');
    expect(parts[1]).toContain('<gml:pos>35.6812 139.7671</gml:pos>');
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
    // What went on the wire parses back to the same message (byte-counted Content-Length).
    expect(parseDatagram(serializeMessage(invite)).body.equals(invite.body)).toBe(true);
  });
});
