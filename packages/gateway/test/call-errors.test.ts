/** Every error of webrtc-call-handling the gateway raises, emergency calls, and the status machine's refusals. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ALICE,
  auth,
  BOB,
  createBody,
  DEVICE,
  expectError,
  FLOW_WEBRTC_ANSWER,
  FLOW_WEBRTC_OFFER,
  type Harness,
  harness,
  onboard,
  settle,
} from './helpers.js';

let h: Harness;
let ids: { registrationId: string; subscriptionId: string };

const circle = {
  shape: 'Circle',
  coordinates: { latitude: 47.6062, longitude: -122.3321, radius: 35 },
  method: 'GPS',
  confidence: { pdf: 'normal', value: 92 },
  timestamp: '2025-10-06T19:31:25Z',
};

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
  h = harness();
  ids = await onboard(h.gw);
});

afterEach(async () => {
  await h.gw.close();
  vi.useRealTimers();
});

const create = (body: Record<string, unknown>, registrationId: unknown = ids.registrationId, who = ALICE) =>
  h.gw.calls.create(auth(who), registrationId, body);

describe('createSession errors', () => {
  it('403 INVALID_TOKEN_CONTEXT when originatorAddress is not the caller', async () => {
    await expectError(create(createBody({ originatorAddress: `tel:${BOB}` })), 403, 'INVALID_TOKEN_CONTEXT');
    await expectError(
      create(createBody({ originatorAddress: 'sip:alice@operator.com' })),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
    await expectError(
      create(createBody({ originatorAddress: 'tel:5551234;phone-context=+81' })),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
  });

  it("403 INVALID_TOKEN_CONTEXT when registrationId is unknown or another number's", async () => {
    const bobs = await h.gw.registrations.create(auth(BOB), { deviceId: DEVICE });
    await expectError(create(createBody(), 'no-such-registration'), 403, 'INVALID_TOKEN_CONTEXT');
    await expectError(create(createBody(), bobs.registrationId), 403, 'INVALID_TOKEN_CONTEXT');
  });

  it("accepts the caller's number in SIP form and withholds identity for the anonymous originator (Privacy, P-Asserted-Identity)", async () => {
    await create(createBody({ originatorAddress: `sip:${ALICE}@operator.com` }));
    await create(
      createBody({ originatorAddress: 'sip:anonymous@anonymous.invalid', originatorName: undefined }),
    );
    const invite = h.net.messages(h.net.outgoingCallId(1)).find((m) => m.method === 'INVITE')!;
    expect(invite.headers).toMatchObject({
      From: '"Anonymous" <sip:anonymous@anonymous.invalid>',
      'P-Asserted-Identity': `<sip:${ALICE}@operator.com;user=phone>`,
      Privacy: 'id',
    });
  });

  it('400 INVALID_ARGUMENT for missing or malformed fields', async () => {
    const cases: Record<string, unknown>[] = [
      createBody({ originatorAddress: undefined }),
      createBody({ receiverAddress: undefined }),
      createBody({ offer: undefined }),
      createBody({ receiverAddress: 'sip:anonymous@anonymous.invalid' }),
      createBody({ receiverAddress: 'tel:+0123' }),
      createBody({ callType: 'URGENT' }),
      createBody({ status: 'Connected' }),
      createBody({ answer: { sdp: FLOW_WEBRTC_ANSWER } }),
      createBody({ offer: 'v=0' }),
      createBody({ offer: {} }),
      createBody({ offer: { sdp: FLOW_WEBRTC_OFFER.replace(/a=fingerprint:[^\r]*\r\n/, '') } }),
      createBody({ receiverAddress: 'urn:service:sos' }),
      createBody({
        locationDetails: { shape: 'Circle', coordinates: { latitude: 91, longitude: 0, radius: 1 } },
      }),
      createBody({ originatorName: 42 }),
    ];
    for (const body of cases) await expectError(create(body), 400, 'INVALID_ARGUMENT');
    await expectError(h.gw.calls.create(auth(ALICE), undefined, createBody()), 400, 'INVALID_ARGUMENT');
    await expectError(h.gw.calls.create(auth(ALICE), ids.registrationId, 'body'), 400, 'INVALID_ARGUMENT');
    expect(h.store.counts().sessions).toBe(0);
    expect(h.net.messages().filter((m) => m.method === 'INVITE')).toHaveLength(0);
  });

  it('501 CALLTYPE_EMERGENCY_NOT_SUPPORTED without emergency support', async () => {
    await expectError(
      create(
        createBody({ receiverAddress: 'urn:service:sos', callType: 'EMERGENCY', locationDetails: circle }),
      ),
      501,
      'CALLTYPE_EMERGENCY_NOT_SUPPORTED',
    );
    expect(h.store.counts().sessions).toBe(0);
  });

  it('429 TOO_MANY_REQUESTS beyond the concurrent calls of a number', async () => {
    await h.gw.close();
    h = harness({ calls: { maxActiveSessionsPerNumber: 2 } });
    ids = await onboard(h.gw);
    await create(createBody());
    await create(createBody());
    await expectError(create(createBody()), 429, 'TOO_MANY_REQUESTS');
    // The refused call left nothing: no record, no media endpoint, no live session, no INVITE.
    expect(h.store.counts().sessions).toBe(2);
    expect(h.net.media.endpoints.size).toBe(2);
    expect(h.gw.calls.live).toHaveLength(2);
    expect(h.net.outgoingCallId(1)).toBeDefined();
    expect(h.net.outgoingCallId(2)).toBeUndefined();
  });

  it('429 for concurrent creates past the limit: the limit is checked and the call stored in one step', async () => {
    await h.gw.close();
    h = harness({ calls: { maxActiveSessionsPerNumber: 3 } });
    ids = await onboard(h.gw);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => create(createBody())));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    for (const refused of outcomes.filter((o) => o.status === 'rejected')) {
      expect((refused as PromiseRejectedResult).reason).toMatchObject({
        status: 429,
        code: 'TOO_MANY_REQUESTS',
      });
    }
    expect(h.store.counts().sessions).toBe(3);
    expect(h.net.media.endpoints.size).toBe(3);
  });

  it('503 UNAVAILABLE when the INVITE cannot be sent; nothing stays behind', async () => {
    h.net.sip.invite = async () => {
      throw new Error('no route');
    };
    await expectError(create(createBody()), 503, 'UNAVAILABLE');
    expect(h.store.counts().sessions).toBe(0);
    expect(h.net.media.endpoints.size).toBe(0);
    expect(h.gw.calls.live).toHaveLength(0);
  });
});

describe('emergency calls', () => {
  beforeEach(async () => {
    await h.gw.close();
    h = harness({
      emergency: {
        supported: true,
        lookupAddress: async (phone) =>
          phone === BOB
            ? { shape: 'Circle', coordinates: { latitude: 35.6812, longitude: 139.7671, radius: 15 } }
            : undefined,
      },
    });
    ids = await onboard(h.gw);
  });

  it('carries locationDetails to the SIP side as a PIDF-LO body built from the validated values', async () => {
    const created = await create(
      createBody({
        receiverAddress: 'urn:service:sos.police',
        receiverName: 'PSAP',
        callType: 'EMERGENCY',
        locationDetails: circle,
      }),
    );
    expect(created).toMatchObject({
      callType: 'EMERGENCY',
      locationDetails: { ...circle, timestamp: '2025-10-06T19:31:25.000Z' },
    });
    const invite = h.net.messages(h.net.outgoingCallId(0)).find((m) => m.method === 'INVITE')!;
    expect(invite.headers['Request-URI']).toBe('urn:service:sos.police');
    expect(invite.headers.Geolocation).toBe('<cid:location@gateway>');
    expect(invite.body).toContain('<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326">');
    expect(invite.body).toContain('<gml:pos>47.6062 -122.3321</gml:pos>');
    expect(invite.body).toContain('<gs:radius uom="urn:ogc:def:uom:EPSG::9001">35</gs:radius>');
    expect(invite.body).toContain('<con:confidence pdf="normal">92</con:confidence>');
    expect(invite.body).toContain(`entity="pres:${ALICE}"`);
  });

  it('uses the registered emergency address when the request has none; 400 INVALID_ARGUMENT without either (createSession documents no EMERGENCY_ADDRESS_MISSING)', async () => {
    await expectError(
      create(createBody({ receiverAddress: 'urn:service:sos', callType: 'EMERGENCY' })),
      400,
      'INVALID_ARGUMENT',
    );
    expect(h.store.counts().sessions).toBe(0);
    const bob = await onboard(h.gw, BOB);
    await h.gw.calls.create(
      auth(BOB),
      bob.registrationId,
      createBody({
        originatorAddress: `tel:${BOB}`,
        receiverAddress: 'urn:service:sos',
        callType: 'EMERGENCY',
      }),
    );
    const invite = h.net.messages(h.net.outgoingCallId(0)).find((m) => m.method === 'INVITE')!;
    expect(invite.body).toContain('<gml:pos>35.6812 139.7671</gml:pos>');
  });
});

describe('getSessionDetailsById / deleteSessionById / updateSessionStatus errors', () => {
  it("404 for an unknown session or another number's session", async () => {
    const created = await create(createBody());
    await onboard(h.gw, BOB);
    await expectError(h.gw.calls.get(auth(BOB), created.mediaSessionId), 404, 'NOT_FOUND');
    await expectError(h.gw.calls.delete(auth(BOB), created.mediaSessionId), 404, 'NOT_FOUND');
    await expectError(
      h.gw.calls.updateStatus(auth(BOB), created.mediaSessionId, { status: 'Hold' }),
      404,
      'NOT_FOUND',
    );
    await expectError(h.gw.calls.get(auth(ALICE), 'F00'), 404, 'NOT_FOUND');
  });

  it('400 for transitions the call flows do not allow', async () => {
    const created = await create(createBody());
    const put = (body: Record<string, unknown>) =>
      h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, body);
    // Outgoing call, not answered yet.
    await expectError(put({ status: 'Hold' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Resume' }), 400, 'INVALID_ARGUMENT');
    await expectError(
      put({ status: 'Connected', answer: { sdp: FLOW_WEBRTC_ANSWER } }),
      400,
      'INVALID_ARGUMENT',
    );
    await expectError(put({ status: 'Ringing' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Terminated' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Failed' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Initial' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Busyish' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({}), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Hold', answer: { sdp: FLOW_WEBRTC_ANSWER } }), 400, 'INVALID_ARGUMENT');
    await settle(h.gw, 1000);
    // Connected: Resume needs Hold first; an answer cannot be set on an outgoing call.
    await expectError(put({ status: 'Resume' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Declined' }), 400, 'INVALID_ARGUMENT');
    await expectError(
      put({ status: 'Connected', answer: { sdp: FLOW_WEBRTC_ANSWER } }),
      400,
      'INVALID_ARGUMENT',
    );
    // Ended: nothing changes any more.
    await h.gw.calls.delete(auth(ALICE), created.mediaSessionId);
    await settle(h.gw);
    await expectError(put({ status: 'Hold' }), 400, 'INVALID_ARGUMENT');
    await expectError(h.gw.calls.delete(auth(ALICE), created.mediaSessionId), 404, 'NOT_FOUND');
  });

  it('400 for an incoming call accepted without an answer, or a second different answer', async () => {
    h.net.callIn({ from: BOB, to: ALICE });
    await settle(h.gw);
    const id = (h.sink.eventsFor(ids.subscriptionId)[0]!.data as { mediaSessionId: string }).mediaSessionId;
    const put = (body: Record<string, unknown>) => h.gw.calls.updateStatus(auth(ALICE), id, body);
    await expectError(put({ status: 'Connected' }), 400, 'INVALID_ARGUMENT');
    await expectError(put({ status: 'Hold' }), 400, 'INVALID_ARGUMENT');
    await expectError(
      put({ status: 'InProgress', offer: { sdp: FLOW_WEBRTC_OFFER } }),
      400,
      'INVALID_ARGUMENT',
    );
    await put({ status: 'InProgress', answer: { sdp: FLOW_WEBRTC_ANSWER } });
    const other = FLOW_WEBRTC_ANSWER.replace('a=ice-ufrag:4eKp', 'a=ice-ufrag:ZZZZ');
    await expectError(put({ status: 'Connected', answer: { sdp: other } }), 400, 'INVALID_ARGUMENT');
    // An answer with a=setup:actpass is not an answer (RFC 8842).
    await expectError(
      put({
        status: 'Connected',
        answer: { sdp: FLOW_WEBRTC_ANSWER.replace('a=setup:active', 'a=setup:actpass') },
      }),
      400,
      'INVALID_ARGUMENT',
    );
    expect((await put({ status: 'Connected' })).status).toBe('Connected');
  });

  it('the same status again is accepted without signalling (idempotent), and stores a location update', async () => {
    const created = await create(createBody());
    await settle(h.gw, 1000);
    const before = h.net.messages().length;
    const updated = await h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, {
      status: 'Connected',
      locationDetails: {
        shape: 'Circle',
        coordinates: { latitude: 40.7148, longitude: -74.0075, radius: 30 },
      },
    });
    expect(updated.locationDetails?.coordinates).toMatchObject({ latitude: 40.7148 });
    expect(h.net.messages().length).toBe(before);
  });
});
