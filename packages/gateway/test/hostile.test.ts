/**
 * Hostile input in every string of every operation: answered with a CAMARA
 * 4xx, nothing stored, no SIP message sent, and no header ever carries CR/LF.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ALICE,
  auth,
  createBody,
  DEVICE,
  FLOW_WEBRTC_ANSWER,
  FLOW_WEBRTC_OFFER,
  type Harness,
  harness,
  onboard,
  SINK,
  settle,
} from './helpers.js';
import { isApiError } from './support.js';

const HOSTILE: readonly string[] = [
  'x\r\nVia: SIP/2.0/UDP evil.example',
  'x\nX-Injected: 1',
  'x\rCSeq: 1 BYE',
  'x\u0000y',
  'x>;tag=evil<',
  '"quoted" <sip:evil@example.com>',
  'Ålice\u202Eecila',
  '😀'.repeat(300),
  '\ud800',
  'a'.repeat(5000),
  '',
];

const SDP_10K_LINES = `v=0\r\n${'a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n'.repeat(10_000)}`;
const SDP_TOO_BIG = `${FLOW_WEBRTC_OFFER}a=x-pad:${'x'.repeat(70_000)}\r\n`;
const SDP_HOSTILE: readonly string[] = [
  SDP_10K_LINES,
  SDP_TOO_BIG,
  FLOW_WEBRTC_OFFER.replace('s=-', 's=-\r\nINVITE sip:evil SIP/2.0'),
  FLOW_WEBRTC_OFFER.replace('s=-', 's=Ålice'),
  'garbage',
  `${FLOW_WEBRTC_OFFER}\u0000`,
];

let h: Harness;
let ids: { registrationId: string; subscriptionId: string };

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
  h = harness();
  ids = await onboard(h.gw);
});

afterEach(async () => {
  await h.gw.close();
  vi.useRealTimers();
});

/** Runs `attempt`; it must fail with a 4xx ApiError (never a 500 or a plain Error), or succeed harmlessly. */
async function refusedOrHarmless(attempt: () => Promise<unknown>): Promise<'refused' | 'accepted'> {
  try {
    await attempt();
    return 'accepted';
  } catch (error) {
    expect(isApiError(error), String(error)).toBe(true);
    const status = (error as { status: number }).status;
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    return 'refused';
  }
}

function noHeaderInjection(): void {
  for (const message of h.net.messages()) {
    for (const value of Object.values(message.headers)) expect(value).not.toMatch(/[\r\n\0]/);
  }
}

describe('createSession', () => {
  it.each(['originatorAddress', 'receiverAddress', 'originatorName', 'receiverName', 'callType', 'status'])(
    'hostile %s is refused: nothing stored, no INVITE',
    async (field) => {
      const before = h.store.counts();
      for (const value of HOSTILE) {
        expect(
          await refusedOrHarmless(() =>
            h.gw.calls.create(auth(ALICE), ids.registrationId, createBody({ [field]: value })),
          ),
        ).toBe(
          // A display name may contain quotes and angle brackets (escaped as a quoted-string), never controls.
          field.endsWith('Name') && (value.startsWith('"quoted"') || value === '' || value === 'x>;tag=evil<')
            ? 'accepted'
            : 'refused',
        );
      }
      const accepted = h.store.counts().sessions - before.sessions;
      const invites = h.net
        .messages()
        .filter((m) => m.method === 'INVITE' && m.direction === 'out' && m.status === undefined);
      expect(invites.length).toBe(accepted);
      noHeaderInjection();
    },
  );

  it('a quoted display name reaches SIP only as an escaped quoted-string', async () => {
    await h.gw.calls.create(
      auth(ALICE),
      ids.registrationId,
      createBody({ originatorName: '"quoted" <sip:evil@example.com>' }),
    );
    const invite = h.net.messages().find((m) => m.method === 'INVITE')!;
    expect(invite.headers.From).toBe(
      `"\\"quoted\\" <sip:evil@example.com>" <sip:${ALICE}@operator.com;user=phone>`,
    );
  });

  it('hostile registrationId header is refused', async () => {
    for (const value of HOSTILE) {
      expect(await refusedOrHarmless(() => h.gw.calls.create(auth(ALICE), value, createBody()))).toBe(
        'refused',
      );
    }
    expect(h.store.counts().sessions).toBe(0);
  });

  it('hostile SDP (10 000 lines, > 64 KiB, injected lines, non-ASCII, NUL) is 400 with nothing stored or sent', async () => {
    for (const sdp of SDP_HOSTILE) {
      await expect(
        h.gw.calls.create(auth(ALICE), ids.registrationId, createBody({ offer: { sdp } })),
      ).rejects.toMatchObject({
        status: 400,
        code: 'INVALID_ARGUMENT',
      });
    }
    expect(h.store.counts().sessions).toBe(0);
    expect(h.net.messages().filter((m) => m.method === 'INVITE')).toHaveLength(0);
    expect(h.net.media.endpoints.size).toBe(0);
  });

  it('hostile locationDetails values are refused', async () => {
    const values: unknown[] = [
      { shape: 'Circle\r\n', coordinates: { latitude: 0, longitude: 0, radius: 1 } },
      { shape: 'Circle', coordinates: { latitude: '0"/><x', longitude: 0, radius: 1 } },
      {
        shape: 'Circle',
        coordinates: { latitude: 0, longitude: 0, radius: 1 },
        timestamp: '2025-01-01T00:00:00Z\r\n',
      },
      { shape: 'Circle', coordinates: { latitude: 0, longitude: 0, radius: 1 }, method: 'GPS\u0000' },
    ];
    for (const locationDetails of values) {
      expect(
        await refusedOrHarmless(() =>
          h.gw.calls.create(auth(ALICE), ids.registrationId, createBody({ locationDetails })),
        ),
      ).toBe('refused');
    }
  });
});

describe('updateSessionStatus / get / delete', () => {
  it('hostile ids, statuses and SDP are refused without touching the call', async () => {
    const created = await h.gw.calls.create(auth(ALICE), ids.registrationId, createBody());
    await settle(h.gw, 1000);
    const messages = h.net.messages().length;
    for (const value of HOSTILE) {
      expect(await refusedOrHarmless(() => h.gw.calls.get(auth(ALICE), value))).toBe('refused');
      expect(await refusedOrHarmless(() => h.gw.calls.delete(auth(ALICE), value))).toBe('refused');
      expect(
        await refusedOrHarmless(() =>
          h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, { status: value }),
        ),
      ).toBe('refused');
    }
    for (const sdp of SDP_HOSTILE) {
      expect(
        await refusedOrHarmless(() =>
          h.gw.calls.updateStatus(auth(ALICE), created.mediaSessionId, { status: 'Hold', offer: { sdp } }),
        ),
      ).toBe('refused');
    }
    expect(h.net.messages().length).toBe(messages);
    expect((await h.gw.calls.get(auth(ALICE), created.mediaSessionId)).status).toBe('Connected');
  });

  it('a hostile answer for an incoming call is refused and the call is still answerable', async () => {
    const inbound = h.net.callIn({ from: '+818000000002', to: ALICE });
    await settle(h.gw);
    const id = (h.sink.eventsFor(ids.subscriptionId)[0]!.data as { mediaSessionId: string }).mediaSessionId;
    for (const sdp of SDP_HOSTILE) {
      expect(
        await refusedOrHarmless(() =>
          h.gw.calls.updateStatus(auth(ALICE), id, { status: 'Connected', answer: { sdp } }),
        ),
      ).toBe('refused');
    }
    expect(inbound.flow()).toEqual(['<INVITE', '>100']);
    await h.gw.calls.updateStatus(auth(ALICE), id, {
      status: 'Connected',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });
    expect(inbound.flow().slice(-2)).toEqual(['>200/INVITE', '<ACK']);
  });
});

describe('registrations and subscriptions', () => {
  it('hostile deviceId, expiry and ids are refused with nothing stored', async () => {
    const before = h.store.counts();
    for (const value of HOSTILE) {
      expect(await refusedOrHarmless(() => h.gw.registrations.create(auth(ALICE), { deviceId: value }))).toBe(
        'refused',
      );
      expect(
        await refusedOrHarmless(() =>
          h.gw.registrations.create(auth(ALICE), {
            deviceId: '11111111-2222-4333-8444-555555555555',
            registrationExpireTime: value,
          }),
        ),
      ).toBe('refused');
      expect(await refusedOrHarmless(() => h.gw.registrations.get(auth(ALICE), value))).toBe('refused');
      expect(await refusedOrHarmless(() => h.gw.registrations.list(auth(ALICE), value))).toBe('refused');
      expect(
        await refusedOrHarmless(() =>
          h.gw.registrations.refresh(auth(ALICE), ids.registrationId, { registrationExpireTime: value }),
        ),
      ).toBe('refused');
    }
    expect(h.store.counts()).toEqual(before);
  });

  it('hostile sink, token, types, device and expiry are refused with nothing stored', async () => {
    const base = {
      protocol: 'HTTP',
      sink: 'https://asp.example.com/other',
      sinkCredential: {
        credentialType: 'ACCESSTOKEN',
        accessToken: 'token',
        accessTokenExpiresUtc: '2026-01-01T00:00:00Z',
        accessTokenType: 'bearer',
      },
      types: ['org.camaraproject.webrtc-events.v0.session-status'],
      config: { subscriptionDetail: { deviceId: DEVICE } },
    };
    const before = h.store.counts();
    for (const value of HOSTILE) {
      const variants = [
        { ...base, sink: value },
        { ...base, sink: `https://asp.example.com/${value}` },
        { ...base, protocol: value },
        { ...base, types: [value] },
        { ...base, sinkCredential: { ...base.sinkCredential, accessToken: value } },
        { ...base, sinkCredential: { ...base.sinkCredential, accessTokenExpiresUtc: value } },
        { ...base, config: { subscriptionDetail: { deviceId: value } } },
        { ...base, config: { subscriptionDetail: { deviceId: DEVICE }, subscriptionExpireTime: value } },
      ];
      for (const body of variants) {
        const outcome = await refusedOrHarmless(() => h.gw.subscriptions.create(auth(ALICE), body));
        if (outcome === 'accepted') {
          // Only a URL-encodable path may pass; it must come out as a valid, control-free URL.
          const stored = (await h.gw.subscriptions.list(auth(ALICE))).at(-1)!;
          expect(stored.sink).not.toMatch(/[\r\n\0\s]/);
          await h.gw.subscriptions.delete(auth(ALICE), stored.id);
        }
      }
      expect(await refusedOrHarmless(() => h.gw.subscriptions.get(auth(ALICE), value))).toBe('refused');
    }
    expect(h.store.counts()).toEqual(before);
    expect((await h.gw.subscriptions.list(auth(ALICE))).map((s) => s.sink)).toEqual([SINK]);
  });
});

describe('the network side', () => {
  it('a hostile INVITE (From, display names, Request-URI) is cleaned or refused, never echoed raw', async () => {
    h.net.callIn({
      fromUri: 'sip:+818000000002@tn.operator.com;user=phone\r\nX: y',
      fromName: 'Bob\r\nX-Evil: 1',
      to: ALICE,
      toName: '\u0000',
    });
    h.net.callIn({ from: '+818000000002', toUri: 'sip:+81800000000\r\n1@operator.com' });
    await settle(h.gw);
    const invitations = h.sink.eventsFor(ids.subscriptionId).map((e) => e.data as Record<string, unknown>);
    expect(invitations).toHaveLength(1);
    expect(invitations[0]).toMatchObject({
      originatorAddress: 'tel:+818000000002',
      originatorName: 'BobX-Evil: 1',
    });
    expect(invitations[0]?.receiverName).toBeUndefined();
    for (const field of ['originatorAddress', 'originatorName', 'receiverAddress', 'receiverName']) {
      expect(String(invitations[0]?.[field] ?? '')).not.toMatch(/[\r\n\0]/);
    }
  });
});
