import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDocument, Operation } from '../../generator/src/ir/types.js';
import { parseDocument } from '../../generator/src/parse/index.js';
import { buildGateway, type GatewayServer } from '../../packages/gateway/src/index.js';
import { repoRoot } from '../support/typecheck.js';

/**
 * Every request example of our three specs, sent as written to a gateway on 127.0.0.1 (real SIP
 * to the demo telco network, werift media), after what it needs (a registration, an incoming
 * call, a subscription): each must get a documented 2xx. SDP offers and answers are complete
 * WebRTC descriptions (ICE, DTLS fingerprint, setup) whose candidates are on 127.0.0.1; sink
 * host names resolve to 127.0.0.1 (allowlisted), so no DNS is asked and nothing leaves the machine.
 */
const DOCUMENTS = ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'] as const;
const BASE: Record<(typeof DOCUMENTS)[number], string> = {
  'webrtc-registration': '/webrtc-registration/vwip',
  'webrtc-call-handling': '/webrtc-call-handling/vwip',
  'webrtc-events': '/webrtc-events/vwip',
};
const DEVICE = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

interface RequestExample {
  document: (typeof DOCUMENTS)[number];
  op: Operation;
  name: string;
  value: unknown;
}

interface Exchange {
  status: number;
  body: unknown;
}

let gw: GatewayServer;
let origin: string;
let numbers = 0;

/** A number of its own for each example, so no example meets another's registrations or limits. */
const freshNumber = () => `+1555020${String(1000 + numbers++).slice(-4)}`;

async function send(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Exchange> {
  const response = await fetch(`${origin}${path}`, {
    method: method.toUpperCase(),
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const registrations = new Map<string, Promise<string>>();

/** The registration of the token's subscriber (examples that share a caller share it). */
function register(token: string): Promise<string> {
  let registered = registrations.get(token);
  if (registered === undefined) {
    registered = send('post', `${BASE['webrtc-registration']}/sessions`, token, { deviceId: DEVICE }).then(
      (created) => {
        expect(created.status).toBe(201);
        return (created.body as { registrationId: string }).registrationId;
      },
    );
    registrations.set(token, registered);
  }
  return registered;
}

/** The mediaSessionId of the next `session-invitation` on the subscriber's event stream. */
async function incomingCall(token: string, from: string, to: string): Promise<string> {
  const stream = await fetch(`${origin}/demo/events`, { headers: { authorization: `Bearer ${token}` } });
  expect(stream.status).toBe(200);
  const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
  // The INVITE transaction ends when the device answers: not awaited here.
  void gw.demo!.callIn({ from, to }).catch(() => {});
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`event stream ended before a session-invitation: ${text}`);
      text += value;
      const data = /event: \S*session-invitation\n(?:id: \S+\n)?data: (.*)\n/.exec(text)?.[1];
      if (data) return (JSON.parse(data) as { data: { mediaSessionId: string } }).data.mediaSessionId;
    }
  } finally {
    await reader.cancel();
  }
}

const tokens = new Map<string, Promise<string>>();
const tokenOf = (phone: string) => {
  const token = tokens.get(phone) ?? gw.issueToken(phone);
  tokens.set(phone, token);
  return token;
};

/** Sends one example with what it needs first; returns the answer to the example itself. */
async function sendExample({ document, op, value }: RequestExample): Promise<Exchange> {
  const body = value as Record<string, unknown>;
  const originator = typeof body.originatorAddress === 'string' ? body.originatorAddress : undefined;
  const phone = originator?.startsWith('tel:') ? originator.slice(4) : freshNumber();
  const token = await tokenOf(phone);
  const base = BASE[document];
  switch (op.id) {
    case 'createRegistration':
      return send('post', `${base}/sessions`, token, value);
    case 'updateRegistrationById':
      return send('put', `${base}/sessions/${await register(token)}`, token, value);
    case 'createSession':
      return send('post', `${base}/sessions`, token, value, { registrationId: await register(token) });
    case 'updateSessionStatus': {
      await register(token);
      const mediaSessionId = await incomingCall(token, '+990000000100', phone);
      const path = `${base}/sessions/${mediaSessionId}/status`;
      if (body.status === 'Connected' && body.answer === undefined) {
        // A location update during an established call: answer the call first.
        const answer = examples.find(
          (e) => e.op.id === 'updateSessionStatus' && e.name === 'AcceptWithAnswer',
        );
        expect((await send('put', path, token, answer!.value)).status).toBe(200);
      }
      return send('put', path, token, value);
    }
    case 'createNotificationChannelSubscription':
      await register(token);
      return send('post', `${base}/subscriptions`, token, value);
    case 'updateNotificationChannelSubscription': {
      await register(token);
      const created = await send('post', `${base}/subscriptions`, token, {
        protocol: 'HTTP',
        sink: 'https://sink.example.com/webrtc',
        types: ['org.camaraproject.webrtc-events.v0.registration-ends'],
        config: { subscriptionDetail: { deviceId: DEVICE } },
      });
      expect(created.status).toBe(201);
      return send('put', `${base}/subscriptions/${(created.body as { id: string }).id}`, token, value);
    }
    default:
      throw new Error(`no setup for the request examples of ${op.id}: add one`);
  }
}

function requestExamples(document: (typeof DOCUMENTS)[number], ir: ApiDocument): RequestExample[] {
  return ir.operations.flatMap((op) =>
    (op.requestBody?.content ?? []).flatMap((media) =>
      media.examples.map((example) => ({ document, op, name: example.name, value: example.value })),
    ),
  );
}

const examples = (
  await Promise.all(
    DOCUMENTS.map(async (document) =>
      requestExamples(document, (await parseDocument(join(repoRoot, 'spec', `${document}.yaml`))).ir),
    ),
  )
).flat();

beforeAll(async () => {
  gw = await buildGateway({
    logLevel: 'silent',
    sipNetwork: 'demo',
    emergencyCalls: true,
    rateLimitPerToken: 0,
    rateLimitPerAddress: 0,
    sinkAllowlist: ['127.0.0.1'],
    sinkLookup: async () => [{ address: '127.0.0.1', family: 4 }],
    shutdownTimeoutSeconds: 1,
  });
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gw.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  origin = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await gw?.close();
});

describe('the request examples of spec/ are accepted by the gateway', () => {
  it('finds the request examples of every operation with a request body', () => {
    const withBody = new Set(examples.map((e) => e.op.id));
    expect([...withBody].sort()).toEqual([
      'createNotificationChannelSubscription',
      'createRegistration',
      'createSession',
      'updateNotificationChannelSubscription',
      'updateRegistrationById',
      'updateSessionStatus',
    ]);
    expect(examples.length).toBeGreaterThanOrEqual(15);
  });

  it.each(examples.map((e) => [`${e.document} ${e.op.id} ${e.name}`, e] as const))(
    '%s: a documented 2xx',
    async (_label, example) => {
      const exchange = await sendExample(example);
      const documented = example.op.responses.map((r) => r.status).filter((s) => /^2\d\d$/.test(s));
      // The whole answer on failure, so the message says what the gateway refused.
      expect(documented.includes(String(exchange.status)) ? 'a documented 2xx' : exchange).toBe(
        'a documented 2xx',
      );
    },
  );
});
