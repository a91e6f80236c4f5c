/**
 * The gateway under test, served over real HTTP: `buildGateway()` listening
 * on 127.0.0.1:0, with the generated typed clients pointed at it (response
 * validation on), raw `fetch` for what a typed client cannot send, and the
 * spec's response validators to check every answer.
 */
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import {
  ALL_SCOPES,
  buildGateway,
  type GatewayConfig,
  type LoopbackNetwork,
} from '../../../packages/gateway/src/index.js';
import {
  CallHandlingValidators,
  createCallHandlingClient,
  createEventsClient,
  createRegistrationClient,
  EventsValidators,
  RegistrationValidators,
} from '../../../packages/webrtc-client/src/index.js';
import type { TestPki } from './pki.js';

export const ALICE = '+818000000001';
export const BOB = '+818000000002';
export const CAROL = '+818000000003';
/** Numbers in the loopback network and how they behave (set on every gateway the suite starts). */
export const ANSWERS = '+818000000002';
export const RINGS_FOREVER = '+818000000090';
export const BUSY = '+818000000091';
export const DECLINES = '+818000000092';

export const XCORRELATOR_PATTERN = /^[a-zA-Z0-9-_:;./<>{}]{1,256}$/;

export const API_BASE = {
  registration: '/webrtc-registration/vwip',
  callHandling: '/webrtc-call-handling/vwip',
  events: '/webrtc-events/vwip',
} as const;
export type ApiKey = keyof typeof API_BASE;

/** What an exchange came back with, whichever way it was sent. */
export interface Exchange {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body (`undefined` when empty; the raw text when not JSON). */
  body: unknown;
  text: string;
}

export function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

/** Config shared by every gateway of the suite (the HTTPS sink of the tests is allowlisted and its CA trusted). */
export function baseConfig(pki: TestPki): Partial<GatewayConfig> {
  return {
    sinkAllowlist: ['127.0.0.1'],
    sinkCaFile: pki.caFile,
    // Expected failures (refused sinks, hostile input) are logged at warn; keep the test output readable.
    logLevel: 'error',
    // The suites send thousands of requests with one token from one address; the cases that need
    // 429 TOO_MANY_REQUESTS start a gateway with low limits.
    rateLimitPerToken: 0,
    rateLimitPerAddress: 0,
  };
}

export interface ClientOptionsForCase {
  /** Bearer token (omit for none). */
  token?: string;
  /** `x-correlator` to send; `null` sends none at all (the header is stripped before the request leaves). */
  correlator?: string | null;
}

/** A gateway served over HTTP with typed clients, whatever SIP network it runs on. */
export interface ServedGateway {
  origin: string;
  config: GatewayConfig;
  built: Awaited<ReturnType<typeof buildGateway>>;
  gateway: Awaited<ReturnType<typeof buildGateway>>['gateway'];
  issueToken(
    phoneNumber: string,
    opts?: { scopes?: string[]; ttlSeconds?: number; deviceId?: string },
  ): Promise<string>;
  /** A token of `phoneNumber` with every scope (cached). */
  token(phoneNumber: string): Promise<string>;
  registration(options?: ClientOptionsForCase): ReturnType<typeof createRegistrationClient>;
  callHandling(options?: ClientOptionsForCase): ReturnType<typeof createCallHandlingClient>;
  events(options?: ClientOptionsForCase): ReturnType<typeof createEventsClient>;
  /** A raw request: any method, path (below the origin), headers and body text. */
  raw(
    method: string,
    path: string,
    init?: { token?: string; headers?: Record<string, string>; body?: string; json?: unknown },
  ): Promise<Exchange>;
  close(): Promise<void>;
}

/** The conformance suite's gateway: on the in-process loopback network, whose numbers it configures. */
export interface GatewayUnderTest extends ServedGateway {
  network: LoopbackNetwork;
}

function clientFetch(correlator: string | null | undefined) {
  return (request: Request): Promise<Response> => {
    if (correlator === null) request.headers.delete('x-correlator');
    return fetch(request);
  };
}

async function readExchange(response: Response): Promise<Exchange> {
  const text = await response.text();
  let body: unknown;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, headers: headersOf(response), body, text };
}

/** Starts `buildGateway(config)` on 127.0.0.1:0 with the suite's loopback behaviours. */
export async function startGateway(config: Partial<GatewayConfig>): Promise<GatewayUnderTest> {
  const served = await serveGateway(config);
  const network = served.built.network;
  if (network === undefined) {
    await served.close();
    throw new Error('the conformance suite needs the embedded loopback network');
  }
  network.setBehaviour(ANSWERS, {
    kind: 'answer',
    progress: [
      { status: 183, atMs: 20, sdp: true },
      { status: 180, atMs: 40 },
    ],
    answerAtMs: 80,
  });
  network.setBehaviour(RINGS_FOREVER, { kind: 'ring-forever', progress: [{ status: 180, atMs: 20 }] });
  network.setBehaviour(BUSY, { kind: 'busy', atMs: 30 });
  network.setBehaviour(DECLINES, { kind: 'decline', atMs: 60, progress: [{ status: 180, atMs: 20 }] });
  return { ...served, network };
}

/** Starts `buildGateway(config)` on 127.0.0.1:0 with typed clients pointed at it. */
export async function serveGateway(config: Partial<GatewayConfig>): Promise<ServedGateway> {
  const built = await buildGateway(config);
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = built.app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const tokens = new Map<string, Promise<string>>();
  const common = (options: ClientOptionsForCase = {}) => ({
    apiRoot: origin,
    // Requests unchecked on purpose (cases send invalid ones); note `{ response: true }` alone also checks requests.
    validate: { request: false, response: true },
    fetch: clientFetch(options.correlator),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(typeof options.correlator === 'string' ? { correlator: options.correlator } : {}),
  });
  return {
    origin,
    config: built.config,
    built,
    gateway: built.gateway,
    issueToken: (phone, opts) => built.issueToken(phone, opts),
    token(phone) {
      let token = tokens.get(phone);
      if (token === undefined) {
        token = built.issueToken(phone, { scopes: [...ALL_SCOPES] });
        tokens.set(phone, token);
      }
      return token;
    },
    registration: (options) => createRegistrationClient(common(options)),
    callHandling: (options) => createCallHandlingClient(common(options)),
    events: (options) => createEventsClient(common(options)),
    async raw(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      let body: string | undefined = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${origin}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      return readExchange(response);
    },
    close: () => built.close(),
  };
}

const VALIDATORS: Record<
  ApiKey,
  Record<string, (status: number, body: unknown, headers?: Record<string, string>) => string[] | null>
> = {
  registration: RegistrationValidators.responseValidators,
  callHandling: CallHandlingValidators.responseValidators,
  events: EventsValidators.responseValidators,
};

/** The spec's verdict on a response of `operationId`: `null` when it is a documented response. */
export function specViolations(operationId: string, exchange: Exchange): string[] | null {
  for (const table of Object.values(VALIDATORS)) {
    const validate = table[operationId];
    if (validate) return validate(exchange.status, exchange.body, exchange.headers);
  }
  throw new Error(`no response validator for ${operationId}`);
}

export interface Expected {
  status: number;
  code?: string;
  /** The `x-correlator` sent; `null` when none was sent (then a fresh one must come back). */
  correlator?: string | null;
}

/**
 * The common checks of every exchange: status, `ErrorInfo` status/code, the
 * documented response schema (body and headers), the `x-correlator` echo, and
 * no internals (stack traces, 500s) in the answer.
 */
export function expectDocumented(operationId: string, exchange: Exchange, expected: Expected): void {
  const summary = `${operationId} → ${exchange.status} ${exchange.text.slice(0, 300)}`;
  expect(exchange.status, summary).toBe(expected.status);
  if (expected.code !== undefined) {
    expect(exchange.body, summary).toMatchObject({ status: expected.status, code: expected.code });
    expect(typeof (exchange.body as { message?: unknown }).message, summary).toBe('string');
    expect(exchange.headers['content-type'], summary).toMatch(/^application\/json/);
  }
  expect(specViolations(operationId, exchange), summary).toBeNull();
  expect(exchange.text, summary).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)|node_modules|\/src\//);
  const echoed = exchange.headers['x-correlator'];
  if (typeof expected.correlator === 'string') {
    expect(echoed, `${summary}: x-correlator echo`).toBe(expected.correlator);
  } else if (expected.correlator === null) {
    expect(echoed, `${summary}: generated x-correlator`).toMatch(XCORRELATOR_PATTERN);
  }
}

/** Turns what a typed client method resolved to into an `Exchange`. */
export function fromClient(result: { data?: unknown; error?: unknown; response: Response }): Exchange {
  const body = result.data ?? result.error;
  return {
    status: result.response.status,
    headers: headersOf(result.response),
    body,
    text: body === undefined ? '' : JSON.stringify(body),
  };
}
