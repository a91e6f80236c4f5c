import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { ALL_SCOPES } from '../../src/index.js';

export const ALICE = '+818000000001';
export const BOB = '+818000000002';
export const DEVICE = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
export const REGISTRATION = '/webrtc-registration/vwip/sessions';
export const CALLS = '/webrtc-call-handling/vwip/sessions';
export const SUBSCRIPTIONS = '/webrtc-events/vwip/subscriptions';
export const SINK_TOKEN = 'sink-token-0123456789';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
/** A CA and a server certificate it issued for 127.0.0.1/localhost (test fixtures, valid until 2126). */
export const CA_FILE = fixture('ca.pem').pathname;
export const SINK_CERT = readFileSync(fixture('sink.pem'));
export const SINK_KEY = readFileSync(fixture('sink.key'));

export interface LocalServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

async function listen(
  server: Server,
  protocol: 'http' | 'https',
): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${protocol}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface ReceivedEvent {
  type: string;
  data: Record<string, unknown>;
  authorization: string | undefined;
  contentType: string | undefined;
}

/** A webhook sink on 127.0.0.1 that records every CloudEvent and answers 204. */
export interface RecordingSink extends LocalServer {
  events: ReceivedEvent[];
  /** Resolves once an event matches `predicate` (polls; fails after `timeoutMs`). */
  waitFor(predicate: (event: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
}

export async function startSink(options: { tls?: boolean } = {}): Promise<RecordingSink> {
  const events: ReceivedEvent[] = [];
  const handler = async (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.parse(await readBody(request)) as { type: string; data: Record<string, unknown> };
    events.push({
      type: body.type,
      data: body.data,
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
    });
    response.writeHead(204).end();
  };
  const server = options.tls
    ? createHttpsServer({ cert: SINK_CERT, key: SINK_KEY }, handler)
    : createHttpServer(handler);
  const listening = await listen(server, options.tls ? 'https' : 'http');
  return {
    ...listening,
    server,
    events,
    async waitFor(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching event; got ${events.map((e) => `${e.type}/${e.data.status}`).join(', ')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** An identity provider publishing a JWKS on 127.0.0.1 and signing tokens with its key. */
export interface LocalIssuer extends LocalServer {
  issuer: string;
  jwksUrl: string;
  jwksRequests: number;
  sign(
    claims: Record<string, unknown>,
    options?: { expiresIn?: number; issuer?: string; audience?: string },
  ): Promise<string>;
}

export const AUDIENCE = 'https://gateway.test';

export async function startIssuer(): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const state = { jwksRequests: 0 };
  const server = createHttpServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') {
      state.jwksRequests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      response.writeHead(404).end();
    }
  });
  const listening = await listen(server, 'http');
  const issuer = `${listening.url}/`;
  return {
    ...listening,
    server,
    issuer,
    jwksUrl: `${listening.url}/.well-known/jwks.json`,
    get jwksRequests() {
      return state.jwksRequests;
    },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 600))
        .sign(privateKey);
    },
  };
}

/** An RFC 7662 endpoint on 127.0.0.1: answers from `tokens` by token, counts requests, checks client auth. */
export interface LocalIntrospection extends LocalServer {
  endpoint: string;
  tokens: Map<string, Record<string, unknown>>;
  requests: { authorization: string | undefined; contentType: string | undefined; body: string }[];
  /** Answer every request with this status (e.g. 500) instead. */
  failWith: number | undefined;
}

export const CLIENT_ID = 'gateway client';
export const CLIENT_SECRET = 's3cret:&=';

export async function startIntrospection(): Promise<LocalIntrospection> {
  const tokens = new Map<string, Record<string, unknown>>();
  const requests: LocalIntrospection['requests'] = [];
  const state: { failWith: number | undefined } = { failWith: undefined };
  const expected = `Basic ${Buffer.from(
    `${encodeURIComponent(CLIENT_ID).replace(/%20/g, '+')}:${encodeURIComponent(CLIENT_SECRET)}`,
  ).toString('base64')}`;
  const server = createHttpServer(async (request, response) => {
    const body = await readBody(request);
    requests.push({
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      body,
    });
    if (state.failWith !== undefined) return response.writeHead(state.failWith).end();
    if (request.method !== 'POST' || request.url !== '/introspect') return response.writeHead(404).end();
    if (request.headers.authorization !== expected) return response.writeHead(401).end();
    const token = new URLSearchParams(body).get('token') ?? '';
    const answer = tokens.get(token) ?? { active: false };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  const listening = await listen(server, 'http');
  return {
    ...listening,
    server,
    endpoint: `${listening.url}/introspect`,
    tokens,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
  };
}

/** Claims of an active token for `phoneNumber` with every scope, valid for `seconds`. */
export function activeClaims(phoneNumber: string, seconds = 600, extra: Record<string, unknown> = {}) {
  return {
    active: true,
    scope: ALL_SCOPES.join(' '),
    phone_number: phoneNumber,
    client_id: 'asp-app',
    sub: 'user-1',
    exp: Math.floor(Date.now() / 1000) + seconds,
    ...extra,
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The body of a subscription to every event of `DEVICE` delivered to `sink`. */
export function subscriptionBody(sink: string, types?: string[]) {
  return {
    protocol: 'HTTP',
    sink,
    sinkCredential: {
      credentialType: 'ACCESSTOKEN',
      accessToken: SINK_TOKEN,
      accessTokenExpiresUtc: new Date(Date.now() + 86_400_000).toISOString(),
      accessTokenType: 'bearer',
    },
    types: types ?? [
      'org.camaraproject.webrtc-events.v0.session-invitation',
      'org.camaraproject.webrtc-events.v0.session-status',
      'org.camaraproject.webrtc-events.v0.registration-ends',
    ],
    config: { subscriptionDetail: { deviceId: DEVICE } },
  };
}
