/*
 * DrachtioSipBackend without a drachtio-server: what it sends to drachtio-srf
 * and how it treats what comes back, on a scripted stand-in for drachtio-srf
 * (the real server runs in drachtio.contract.test.ts when DRACHTIO_HOST is
 * set); and the real drachtio-srf against a port where nothing listens.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/gateway-config.js';
import type { SipBackendEvents } from '../../src/network/sip-backend.js';
import { createDrachtioSipBackend, isHoldOffer } from '../../src/sip/drachtio/drachtio-sip-backend.js';
import type {
  DrachtioDialog,
  DrachtioMessage,
  DrachtioRequest,
  DrachtioResponse,
  DrachtioSendOptions,
  DrachtioSrf,
  DrachtioUacOptions,
} from '../../src/sip/drachtio/drachtio-srf-api.js';
import { phoneNumberUri, type SipHost, type SipUri, sipDisplayName } from '../../src/sip/uri.js';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n';
const DOMAIN = 'gateway.test' as SipHost;

const message = (
  fields: Partial<DrachtioMessage>,
  headers: Record<string, string> = {},
): DrachtioMessage => ({
  ...fields,
  get: (name) => headers[name.toLowerCase()],
  has: (name) => name.toLowerCase() in headers,
});

class SentResponses {
  readonly sent: Array<{ status: number; reason?: string; opts?: DrachtioSendOptions }> = [];
  response(): DrachtioResponse {
    const sent = this.sent;
    return {
      send(status: number, reasonOrOpts?: string | DrachtioSendOptions, optsOrCb?: unknown, cb?: unknown) {
        const reason = typeof reasonOrOpts === 'string' ? reasonOrOpts : undefined;
        const opts = (typeof reasonOrOpts === 'object' ? reasonOrOpts : optsOrCb) as DrachtioSendOptions;
        sent.push({ status, ...(reason === undefined ? {} : { reason }), opts });
        const callback = [optsOrCb, cb].find((c) => typeof c === 'function') as
          | ((e: unknown) => void)
          | undefined;
        callback?.(null);
      },
    } as DrachtioResponse;
  }
}

/** A stand-in for drachtio-srf that records what the adapter asks of it and lets the test play the network. */
class ScriptedSrf extends EventEmitter implements DrachtioSrf {
  inviteHandler: ((req: DrachtioRequest, res: DrachtioResponse) => void) | undefined;
  readonly uacs: Array<{
    uri: string;
    options: DrachtioUacOptions;
    provisional: (res: DrachtioMessage) => void;
    resolve: (dialog: DrachtioDialog) => void;
    reject: (error: unknown) => void;
    cancelled: number;
  }> = [];
  disconnected = false;

  connect(): void {
    setImmediate(() => this.emit('connect', null, 'udp/127.0.0.1:5080,tcp/127.0.0.1:5080'));
  }
  disconnect(): void {
    this.disconnected = true;
  }
  invite(handler: (req: DrachtioRequest, res: DrachtioResponse) => void): void {
    this.inviteHandler = handler;
  }
  createUAC(
    uri: string,
    options: DrachtioUacOptions,
    progress: {
      cbRequest: (e: unknown, req: DrachtioRequest) => void;
      cbProvisional: (r: DrachtioMessage) => void;
    },
  ): Promise<DrachtioDialog> {
    return new Promise((resolve, reject) => {
      const entry = { uri, options, provisional: progress.cbProvisional, resolve, reject, cancelled: 0 };
      this.uacs.push(entry);
      const req = {
        ...message({ method: 'INVITE', uri }),
        method: 'INVITE',
        uri,
        body: options.localSdp,
        cancel: () => {
          entry.cancelled += 1;
        },
        on() {
          return this;
        },
      } as unknown as DrachtioRequest;
      setImmediate(() => progress.cbRequest(null, req));
    });
  }
  readonly uasDialogs: Array<{ dialog: DrachtioDialog; localSdp: string }> = [];
  async createUAS(
    _req: DrachtioRequest,
    _res: DrachtioResponse,
    options: { localSdp: string },
  ): Promise<DrachtioDialog> {
    const dialog = fakeDialog();
    this.uasDialogs.push({ dialog, localSdp: options.localSdp });
    return dialog;
  }
  request(): unknown {
    throw new Error('no registrar here');
  }
}

function fakeDialog(): DrachtioDialog {
  const dialog = new EventEmitter() as DrachtioDialog;
  Object.assign(dialog, {
    sip: { callId: 'x', localTag: 'a', remoteTag: 'b' },
    local: { sdp: SDP },
    remote: { sdp: SDP },
    destroy: async () => {},
    modify: async () => SDP,
  });
  return dialog;
}

async function backendOn(srf: ScriptedSrf) {
  const backend = await createDrachtioSipBackend({
    host: '127.0.0.1',
    port: 9022,
    secret: 's',
    createSrf: () => srf,
  });
  const events: Array<{ name: keyof SipBackendEvents; payload: unknown }> = [];
  for (const name of [
    'invite',
    'provisional',
    'answered',
    'acknowledged',
    'failed',
    'cancelled',
    'bye',
    'reinvite',
  ] as const)
    backend.on(name, (payload) => events.push({ name, payload }));
  return { backend, events };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('DrachtioSipBackend (drachtio-srf scripted)', () => {
  it('sends the validated From, To, Call-ID, 100rel and identity headers, and maps answers to events', async () => {
    const srf = new ScriptedSrf();
    const { backend, events } = await backendOn(srf);
    await backend.invite({
      callId: 'call-1@gw',
      requestUri: 'sip:+15550000002@127.0.0.1:5090;user=phone' as SipUri,
      from: { uri: phoneNumberUri('+15550000001', DOMAIN), displayName: sipDisplayName('A "quoted" name') },
      to: { uri: phoneNumberUri('+15550000002', DOMAIN) },
      sdp: SDP,
      assertedIdentity: phoneNumberUri('+15550000001', DOMAIN),
      privacy: true,
    });
    const uac = srf.uacs[0]!;
    expect(uac.uri).toBe('sip:+15550000002@127.0.0.1:5090;user=phone');
    expect(uac.options.headers).toMatchObject({
      From: '"A \\"quoted\\" name" <sip:+15550000001@gateway.test;user=phone>',
      To: '<sip:+15550000002@gateway.test;user=phone>',
      'Call-ID': 'call-1@gw',
      Supported: '100rel',
      'P-Asserted-Identity': '<sip:+15550000001@gateway.test;user=phone>',
      Privacy: 'id',
    });
    uac.provisional(message({ status: 100, reason: 'Trying' }));
    uac.provisional(
      message({ status: 183, reason: 'Session Progress', body: SDP }, { 'content-type': 'application/sdp' }),
    );
    uac.resolve(fakeDialog());
    await flush();
    expect(events.map((e) => e.name)).toEqual(['provisional', 'answered']);
    expect(events[0]!.payload).toEqual({
      callId: 'call-1@gw',
      status: 183,
      reason: 'Session Progress',
      sdp: SDP,
    });
    await backend.close();
    expect(srf.disconnected).toBe(true);
  });

  it('a SipError is `failed` with its status; anything else is 503; CANCEL waits for a provisional (RFC 3261 §9.1)', async () => {
    const srf = new ScriptedSrf();
    const { backend, events } = await backendOn(srf);
    const invite = (callId: string) =>
      backend.invite({
        callId,
        requestUri: 'sip:+15550000002@127.0.0.1:5090' as SipUri,
        from: { uri: phoneNumberUri('+15550000001', DOMAIN) },
        to: { uri: phoneNumberUri('+15550000002', DOMAIN) },
        sdp: SDP,
      });
    await invite('busy@gw');
    srf.uacs[0]!.reject(Object.assign(new Error('486'), { status: 486, reason: 'Busy Here' }));
    await invite('broken@gw');
    srf.uacs[1]!.reject(new Error('socket gone'));
    await invite('cancel@gw');
    await backend.cancel('cancel@gw');
    expect(srf.uacs[2]!.cancelled).toBe(0);
    srf.uacs[2]!.provisional(message({ status: 180, reason: 'Ringing' }));
    expect(srf.uacs[2]!.cancelled).toBe(1);
    await flush();
    expect(events.filter((e) => e.name === 'failed').map((e) => e.payload)).toEqual([
      { callId: 'busy@gw', status: 486, reason: 'Busy Here' },
      { callId: 'broken@gw', status: 503, reason: 'Service Unavailable' },
    ]);
    await backend.close();
  });

  it('an incoming INVITE with a garbled From is refused with 400 and raises no event; a good one is an `invite`', async () => {
    const srf = new ScriptedSrf();
    const { backend, events } = await backendOn(srf);
    const responses = new SentResponses();
    const incoming = (headers: Record<string, string>, body = SDP) =>
      ({
        ...message({ method: 'INVITE', uri: 'sip:+15550000001@127.0.0.1:5080', body }, headers),
        method: 'INVITE',
        uri: 'sip:+15550000001@127.0.0.1:5080',
        body,
        cancel() {},
        on() {
          return this;
        },
      }) as unknown as DrachtioRequest;
    srf.inviteHandler!(
      incoming({ 'call-id': 'bad@far', from: '"unterminated <sip:x@y>', to: '<sip:+15550000001@h>' }),
      responses.response(),
    );
    srf.inviteHandler!(
      incoming({
        'call-id': 'ok@far',
        from: '"Bob" <sip:+15550000002@h>;tag=1',
        to: '<sip:+15550000001@h>',
        supported: '100rel, timer',
        'content-type': 'application/sdp',
      }),
      responses.response(),
    );
    expect(responses.sent[0]!.status).toBe(400);
    expect(events).toEqual([
      {
        name: 'invite',
        payload: {
          callId: 'ok@far',
          requestUri: 'sip:+15550000001@127.0.0.1:5080',
          from: { uri: 'sip:+15550000002@h', displayName: 'Bob' },
          to: { uri: 'sip:+15550000001@h' },
          sdp: SDP,
        },
      },
    ]);
    // The caller supports 100rel: the 183 goes out reliably; a reason with CR/LF never reaches a status line.
    await backend.answer('ok@far', { status: 183, sdp: SDP });
    expect(responses.sent[1]).toMatchObject({
      status: 183,
      opts: { headers: { Require: '100rel' }, body: SDP },
    });
    await backend.reject('ok@far', { status: 486, reason: 'Busy\r\nX-Injected: 1' });
    expect(responses.sent[2]).toEqual({ status: 486, opts: {} });
    await expect(backend.answer('ok@far', { status: 200, sdp: SDP })).rejects.toThrow(/no SIP dialog/);
    await backend.close();
  });

  it("a late-offer INVITE: provisionals go unreliably, the 200 carries the offer and the ACK's SDP is `acknowledged`", async () => {
    const srf = new ScriptedSrf();
    const { backend, events } = await backendOn(srf);
    const responses = new SentResponses();
    const headers = {
      'call-id': 'late@far',
      from: '<sip:+15550000002@h>;tag=1',
      to: '<sip:+15550000001@h>',
      supported: '100rel, timer',
    };
    srf.inviteHandler!(
      {
        ...message({ method: 'INVITE', uri: 'sip:+15550000001@127.0.0.1:5080', body: '' }, headers),
        method: 'INVITE',
        uri: 'sip:+15550000001@127.0.0.1:5080',
        body: '',
        cancel() {},
        on() {
          return this;
        },
      } as unknown as DrachtioRequest,
      responses.response(),
    );
    expect(events[0]).toEqual({
      name: 'invite',
      payload: {
        callId: 'late@far',
        requestUri: 'sip:+15550000001@127.0.0.1:5080',
        from: { uri: 'sip:+15550000002@h' },
        to: { uri: 'sip:+15550000001@h' },
      },
    });
    // The caller supports 100rel, but a reliable 183 would have to carry the offer (RFC 3262 §5).
    await backend.answer('late@far', { status: 183 });
    expect(responses.sent[0]).toEqual({ status: 183, opts: { headers: {} } });
    await backend.answer('late@far', { status: 200, sdp: SDP });
    expect(srf.uasDialogs[0]!.localSdp).toBe(SDP);
    const answer = SDP.replace('m=audio 4000 RTP/AVP 0', 'm=audio 4100 RTP/AVP 8');
    srf.uasDialogs[0]!.dialog.emit(
      'ack',
      message({ method: 'ACK', body: answer }, { 'content-type': 'application/sdp' }),
    );
    expect(events.at(-1)).toEqual({ name: 'acknowledged', payload: { callId: 'late@far', sdp: answer } });
    await backend.close();
  });

  it('hold is a sendonly or inactive offer, or the RFC 2543 c=0.0.0.0', () => {
    expect(isHoldOffer(SDP)).toBe(false);
    expect(isHoldOffer(SDP.replace('sendrecv', 'sendonly'))).toBe(true);
    expect(isHoldOffer(SDP.replace('sendrecv', 'inactive'))).toBe(true);
    expect(isHoldOffer(SDP.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0'))).toBe(true);
  });
});

describe('DrachtioSipBackend (real drachtio-srf, no server)', () => {
  it('gives up connecting after its timeout, with a message naming the address, and stops reconnecting', async () => {
    const started = Date.now();
    await expect(
      createDrachtioSipBackend({ host: '127.0.0.1', port: 1, secret: 'x', connectTimeoutMs: 300 }),
    ).rejects.toThrow(/127\.0\.0\.1:1 did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('drachtio settings', () => {
  const base = { DEV_TOKEN_SECRET: 'x'.repeat(32) };
  it('DRACHTIO_HOST selects an external network through drachtio-server on port 9022 by default', () => {
    const config = loadConfig({ ...base, DRACHTIO_HOST: '127.0.0.1', DRACHTIO_SECRET: 'cymru' });
    expect(config).toMatchObject({
      drachtioHost: '127.0.0.1',
      drachtioPort: 9022,
      drachtioSecret: 'cymru',
      sipNetwork: 'external',
    });
    expect(
      loadConfig({
        ...base,
        DRACHTIO_HOST: 'drachtio.internal',
        DRACHTIO_PORT: '9023',
        DRACHTIO_SECRET: 's',
        SIP_OUTBOUND_PROXY: 'sip:127.0.0.1:5070',
      }),
    ).toMatchObject({ drachtioPort: 9023, sipOutboundProxy: 'sip:127.0.0.1:5070' });
  });

  it.each([
    [{ DRACHTIO_HOST: '127.0.0.1' }, /DRACHTIO_SECRET/],
    [{ DRACHTIO_HOST: 'bad host', DRACHTIO_SECRET: 's' }, /DRACHTIO_HOST must be a host name/],
    [{ DRACHTIO_HOST: '127.0.0.1', DRACHTIO_SECRET: 's', DRACHTIO_PORT: '0' }, /DRACHTIO_PORT/],
    [
      { DRACHTIO_HOST: '127.0.0.1', DRACHTIO_SECRET: 's', SIP_LISTEN: 'udp:127.0.0.1:5060' },
      /SIP_LISTEN does not apply/,
    ],
    [{ DRACHTIO_HOST: '127.0.0.1', DRACHTIO_SECRET: 's', SIP_NETWORK: 'demo' }, /contradicts/],
  ])('%o is refused', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });
});
