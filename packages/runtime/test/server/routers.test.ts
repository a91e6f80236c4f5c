import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpressRouter } from '../../src/express/index.js';
import { createFastifyPlugin } from '../../src/fastify/index.js';
import {
  AbortedError,
  type ApiDefinition,
  ApiError,
  ConflictError,
  InvalidArgumentError,
  MissingHandlerError,
  NotFoundError,
  NotImplementedError,
  PermissionDeniedError,
  type RequestParser,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnprocessableError,
} from '../../src/server/index.js';
import {
  expressTarget,
  fastifyTarget,
  recordingLogger,
  type Target,
  type TestRequest,
  type TestResponse,
  UUID,
} from './harness.js';

// A hand-written stand-in for what the generator emits for a registration-like API.
const operations = {
  createRegistration: {
    method: 'POST',
    path: '/sessions',
    auth: 'required',
    scopes: ['reg:create'],
    headers: ['x-correlator'],
    hasBody: true,
    bodyRequired: true,
    mediaTypes: ['application/json'],
  },
  getRegistrationById: {
    method: 'GET',
    path: '/sessions/{registrationId}',
    auth: 'required',
    scopes: ['reg:read'],
    headers: ['x-correlator', 'X-Device-Tag'],
    hasBody: false,
    bodyRequired: false,
    mediaTypes: [],
  },
  updateRegistrationById: {
    method: 'PUT',
    path: '/sessions/{registrationId}',
    auth: 'required',
    scopes: ['reg:write'],
    headers: [],
    hasBody: true,
    bodyRequired: false,
    mediaTypes: ['application/json'],
  },
  deleteRegistrationById: {
    method: 'DELETE',
    path: '/sessions/{registrationId}',
    auth: 'required',
    scopes: ['reg:delete'],
    headers: [],
    hasBody: false,
    bodyRequired: false,
    mediaTypes: [],
  },
  cancelThing: {
    method: 'POST',
    path: '/things/{thing-id}:cancel',
    auth: 'none',
    scopes: [],
    headers: [],
    hasBody: false,
    bodyRequired: false,
    mediaTypes: [],
  },
} as const;

const uuid = /^[0-9a-f-]{36}$/;

const lowerCaseHeaders = (headers: Record<string, unknown> = {}) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

// Hand-written parsers following the validators contract (coerce, validate, copy).
const requestParsers: Record<string, RequestParser> = {
  createRegistration: (input) => {
    const body = input.body as { deviceId?: unknown } | undefined;
    if (typeof body?.deviceId !== 'string' || !uuid.test(body.deviceId)) {
      return {
        ok: false,
        error: { status: 400, code: 'INVALID_ARGUMENT', message: 'body/deviceId must match format "uuid"' },
      };
    }
    return {
      ok: true,
      value: { params: {}, query: {}, headers: lowerCaseHeaders(input.headers), body: input.body },
    };
  },
  getRegistrationById: (input) => {
    const limit = input.query?.limit;
    if (limit !== undefined && !/^\d+$/.test(String(limit))) {
      return {
        ok: false,
        error: { status: 400, code: 'INVALID_ARGUMENT', message: 'query/limit must be integer' },
      };
    }
    return {
      ok: true,
      value: {
        params: { ...input.params },
        query: limit === undefined ? {} : { limit: Number(limit) },
        headers: lowerCaseHeaders(input.headers),
        body: undefined,
      },
    };
  },
};

const api: ApiDefinition = {
  operations,
  requestParsers,
  responseValidators: {
    createRegistration: (status, body) => {
      if (![201, 400, 401, 403, 404, 409, 415, 422, 429, 501, 503].includes(status))
        return [`status ${status} is not documented`];
      if (status === 201 && typeof (body as { registrationId?: unknown })?.registrationId !== 'string')
        return ['body/registrationId is required'];
      return null;
    },
  },
};

interface Auth {
  subject: string;
  scopes: string[];
}

function checkToken(
  request: { headers: Record<string, string | string[] | undefined> },
  scopes: readonly string[],
): Auth {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthenticatedError();
  const granted = header.slice('Bearer '.length).split('+');
  if (!scopes.every((scope) => granted.includes(scope))) throw new PermissionDeniedError();
  return { subject: 'alice', scopes: granted };
}

/** Synchronous, unless the request asks for a promise (`x-auth: async`) to cover both paths. */
function authenticate(
  request: { headers: Record<string, string | string[] | undefined> },
  scopes: readonly string[],
): Auth | Promise<Auth> {
  if (request.headers['x-auth'] !== 'async') return checkToken(request, scopes);
  return new Promise((resolve) => setImmediate(resolve)).then(() => checkToken(request, scopes));
}

const failures: Record<string, () => unknown> = {
  conflict: () => {
    throw new ConflictError();
  },
  'out-of-range': () => {
    throw new InvalidArgumentError('registrationExpireTime is too early', { code: 'OUT_OF_RANGE' });
  },
  'max-per-user': () => {
    throw new PermissionDeniedError('The maximum number of service registrations per user has been reached', {
      code: 'MAX_REGISTRATION_PER_USER',
    });
  },
  'not-found': () => {
    throw new NotFoundError('Device identifier not found.', { code: 'IDENTIFIER_NOT_FOUND' });
  },
  aborted: () => {
    throw new AbortedError();
  },
  unprocessable: () => {
    throw new UnprocessableError('Several event types in one subscription are not supported.', {
      code: 'MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED',
    });
  },
  throttled: () => {
    throw new TooManyRequestsError(undefined, { retryAfter: 30 });
  },
  gone: () => {
    throw new ApiError(410, 'GONE', 'It is gone.');
  },
  'not-implemented': () => {
    throw new NotImplementedError();
  },
  unavailable: () => {
    throw new ServiceUnavailableError();
  },
  crash: () => {
    throw new Error('connect ECONNREFUSED redis://admin:hunter2@10.0.0.7');
  },
  'wrong-result': () => ({ status: 201, body: { expiresAt: 'soon' } }),
  'undocumented-status': () => ({ status: 418, body: { registrationId: 'x' } }),
  'no-status': () => ({ body: {} }),
  'bad-header': () => ({
    status: 201,
    body: { registrationId: 'x' },
    headers: { location: '/a\r\nset-cookie: x=1' },
  }),
  unserializable: () => ({ status: 201, body: { registrationId: 'x', n: 1n } }),
  'async-crash': () => Promise.reject(new Error('later ECONNREFUSED')),
  'async-conflict': async () => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new ConflictError();
  },
  thenable: () => ({
    then: (resolve: (value: unknown) => void) => resolve({ status: 201, body: { registrationId: 'then-1' } }),
  }),
  'async-unserializable': async () => ({ status: 201, body: { registrationId: 'x', n: 1n } }),
};

const handlers = {
  createRegistration(input: { body: { deviceId: string; mode?: string }; correlator: string }) {
    const failure = input.body.mode ? failures[input.body.mode] : undefined;
    if (failure) return failure();
    return { status: 201, body: { registrationId: 'reg-1', deviceId: input.body.deviceId } };
  },
  getRegistrationById(input: Record<string, unknown>) {
    const { request: _request, ...seen } = input;
    return { status: 200, body: seen };
  },
  updateRegistrationById(input: { body: unknown }) {
    return { status: 200, body: { registrationId: 'reg-1', sawBody: input.body ?? null } };
  },
  deleteRegistrationById() {
    return { status: 204 };
  },
  cancelThing(input: { params: Record<string, string> }) {
    return { status: 200, body: input.params };
  },
};

const MOUNT = '/registration/v1';
const DEVICE = '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10';
const TOKEN = { authorization: 'Bearer reg:create+reg:read+reg:write+reg:delete' };
const post = (body: Record<string, unknown>, headers: Record<string, string> = {}): TestRequest => ({
  method: 'POST',
  path: `${MOUNT}/sessions`,
  headers: { ...TOKEN, ...headers },
  body,
});
const errorInfo = (status: number, code: string, message: string) => ({
  status,
  headers: { 'content-type': expect.stringMatching(/^application\/json/) },
  body: { status, code, message },
});

/** One table, run against both frameworks. */
const cases: [string, TestRequest, Partial<TestResponse> & { headers?: Record<string, unknown> }][] = [
  [
    'a valid request reaches the handler; x-correlator is echoed',
    post({ deviceId: DEVICE }, { 'x-correlator': 'b4333c46-49c0-4f62-80d7-f0ef930f1c46' }),
    {
      status: 201,
      headers: {
        'content-type': expect.stringMatching(/^application\/json/),
        'x-correlator': 'b4333c46-49c0-4f62-80d7-f0ef930f1c46',
      },
      body: { registrationId: 'reg-1', deviceId: DEVICE },
    },
  ],
  [
    'an invalid x-correlator is refused with 400 and not echoed',
    post({ deviceId: DEVICE }, { 'x-correlator': 'has spaces, commas' }),
    {
      ...errorInfo(
        400,
        'INVALID_ARGUMENT',
        'header/x-correlator must match pattern "^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$"',
      ),
      headers: { 'x-correlator': expect.stringMatching(UUID) },
    },
  ],
  [
    'an invalid body gets the parser error',
    post({ deviceId: 'not-a-uuid' }),
    errorInfo(400, 'INVALID_ARGUMENT', 'body/deviceId must match format "uuid"'),
  ],
  [
    'a missing required body is 400',
    { method: 'POST', path: `${MOUNT}/sessions`, headers: TOKEN },
    errorInfo(400, 'INVALID_ARGUMENT', 'request body is required'),
  ],
  [
    'malformed JSON is 400',
    {
      method: 'POST',
      path: `${MOUNT}/sessions`,
      headers: { ...TOKEN, 'content-type': 'application/json' },
      raw: '{"deviceId": ',
    },
    errorInfo(400, 'INVALID_ARGUMENT', 'The request body is malformed or is not valid JSON.'),
  ],
  [
    'a body that is not JSON is 415',
    {
      method: 'POST',
      path: `${MOUNT}/sessions`,
      headers: { ...TOKEN, 'content-type': 'text/plain' },
      raw: 'deviceId=1',
    },
    errorInfo(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'The server refuses to accept the request because the payload format is in an unsupported format.',
    ),
  ],
  [
    'a body without content-type is 415',
    { method: 'POST', path: `${MOUNT}/sessions`, headers: TOKEN, raw: '{}' },
    errorInfo(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'The server refuses to accept the request because the payload format is in an unsupported format.',
    ),
  ],
  ...(
    [
      ['an invalid body', { body: { deviceId: 'not-a-uuid' } }],
      ['malformed JSON', { headers: { 'content-type': 'application/json' }, raw: '{"deviceId": ' }],
      ['a body that is not JSON', { headers: { 'content-type': 'text/plain' }, raw: 'deviceId=1' }],
      ['no body', {}],
      ['a bad x-correlator', { body: { deviceId: DEVICE }, headers: { 'x-correlator': 'a b' } }],
    ] as const
  ).map(([what, request]): (typeof cases)[number] => [
    `no token and ${what}: 401 before any validation, with WWW-Authenticate`,
    { method: 'POST', path: `${MOUNT}/sessions`, ...request } as TestRequest,
    {
      ...errorInfo(
        401,
        'UNAUTHENTICATED',
        'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
      ),
      headers: { 'www-authenticate': 'Bearer', 'x-correlator': expect.any(String) },
    },
  ]),
  [
    'a body over the limit is 413',
    post({ deviceId: DEVICE, padding: 'x'.repeat(4096) }),
    errorInfo(413, 'CONTENT_TOO_LARGE', 'The request body is larger than the server accepts.'),
  ],
  [
    'an unknown path is 404 (x-correlator echoed)',
    { method: 'GET', path: `${MOUNT}/nope`, headers: { 'x-correlator': 'abc' } },
    {
      ...errorInfo(404, 'NOT_FOUND', 'The specified resource is not found.'),
      headers: { 'x-correlator': 'abc', 'content-type': expect.stringMatching(/^application\/json/) },
    },
  ],
  [
    'paths match exactly: case and trailing slash matter',
    { method: 'GET', path: `${MOUNT}/Sessions/r1`, headers: TOKEN },
    errorInfo(404, 'NOT_FOUND', 'The specified resource is not found.'),
  ],
  [
    'a trailing slash is another path',
    { method: 'POST', path: `${MOUNT}/sessions/`, headers: TOKEN, body: { deviceId: DEVICE } },
    errorInfo(404, 'NOT_FOUND', 'The specified resource is not found.'),
  ],
  [
    'an undocumented method is 405 with Allow',
    { method: 'PATCH', path: `${MOUNT}/sessions/r1`, headers: TOKEN },
    {
      ...errorInfo(
        405,
        'METHOD_NOT_ALLOWED',
        'The requested method is not allowed/supported on the target resource.',
      ),
      headers: { allow: 'GET, HEAD, PUT, DELETE' },
    },
  ],
  [
    'no token is 401',
    { method: 'POST', path: `${MOUNT}/sessions`, body: { deviceId: DEVICE } },
    errorInfo(
      401,
      'UNAUTHENTICATED',
      'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
    ),
  ],
  [
    'a token without the operation scope is 403',
    post({ deviceId: DEVICE }, { authorization: 'Bearer reg:read' }),
    errorInfo(
      403,
      'PERMISSION_DENIED',
      'Client does not have sufficient permissions to perform this action.',
    ),
  ],
  [
    'ConflictError → 409 ALREADY_EXISTS',
    post({ deviceId: DEVICE, mode: 'conflict' }),
    errorInfo(409, 'ALREADY_EXISTS', 'The resource that a client tried to create already exists.'),
  ],
  [
    'InvalidArgumentError with a CAMARA code → 400 OUT_OF_RANGE',
    post({ deviceId: DEVICE, mode: 'out-of-range' }),
    errorInfo(400, 'OUT_OF_RANGE', 'registrationExpireTime is too early'),
  ],
  [
    'PermissionDeniedError with an API code → 403 MAX_REGISTRATION_PER_USER',
    post({ deviceId: DEVICE, mode: 'max-per-user' }),
    errorInfo(
      403,
      'MAX_REGISTRATION_PER_USER',
      'The maximum number of service registrations per user has been reached',
    ),
  ],
  [
    'NotFoundError with a code → 404 IDENTIFIER_NOT_FOUND',
    post({ deviceId: DEVICE, mode: 'not-found' }),
    errorInfo(404, 'IDENTIFIER_NOT_FOUND', 'Device identifier not found.'),
  ],
  [
    'AbortedError → 409 ABORTED',
    post({ deviceId: DEVICE, mode: 'aborted' }),
    errorInfo(
      409,
      'ABORTED',
      'Resource is being modified by another operation. Please wait, and retry if appropriate.',
    ),
  ],
  [
    'UnprocessableError → 422 with its code',
    post({ deviceId: DEVICE, mode: 'unprocessable' }),
    errorInfo(
      422,
      'MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED',
      'Several event types in one subscription are not supported.',
    ),
  ],
  [
    'TooManyRequestsError → 429 with Retry-After',
    post({ deviceId: DEVICE, mode: 'throttled' }),
    { ...errorInfo(429, 'TOO_MANY_REQUESTS', 'Rate limit reached.'), headers: { 'retry-after': '30' } },
  ],
  [
    'NotImplementedError → 501',
    post({ deviceId: DEVICE, mode: 'not-implemented' }),
    errorInfo(501, 'NOT_IMPLEMENTED', 'This functionality is not implemented yet.'),
  ],
  [
    'ServiceUnavailableError → 503 UNAVAILABLE',
    post({ deviceId: DEVICE, mode: 'unavailable' }),
    errorInfo(503, 'UNAVAILABLE', 'Service Unavailable.'),
  ],
  [
    'any other error → 500 INTERNAL without its message',
    post({ deviceId: DEVICE, mode: 'crash' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'a result that violates the documented response → 500 INTERNAL',
    post({ deviceId: DEVICE, mode: 'wrong-result' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'an undocumented status → 500 INTERNAL',
    post({ deviceId: DEVICE, mode: 'undocumented-status' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'a result without status → 500 INTERNAL',
    post({ deviceId: DEVICE, mode: 'no-status' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'a result header with CR/LF → 500 INTERNAL, nothing injected',
    post({ deviceId: DEVICE, mode: 'bad-header' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'a body JSON cannot serialize → 500 INTERNAL',
    post({ deviceId: DEVICE, mode: 'unserializable' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'a handler answering with a promise',
    post({ deviceId: DEVICE, mode: 'async-conflict' }),
    errorInfo(409, 'ALREADY_EXISTS', 'The resource that a client tried to create already exists.'),
  ],
  [
    'a rejected handler promise → 500 INTERNAL without its message',
    post({ deviceId: DEVICE, mode: 'async-crash' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'a handler answering with a thenable that is not a Promise',
    post({ deviceId: DEVICE, mode: 'thenable' }),
    { status: 201, body: { registrationId: 'then-1' } },
  ],
  [
    'a body JSON cannot serialize, from an async handler → 500 INTERNAL',
    post({ deviceId: DEVICE, mode: 'async-unserializable' }),
    errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
  ],
  [
    'an authenticate hook answering with a promise',
    post({ deviceId: DEVICE }, { 'x-auth': 'async', 'x-correlator': 'async-1' }),
    {
      status: 201,
      headers: { 'x-correlator': 'async-1' },
      body: { registrationId: 'reg-1', deviceId: DEVICE },
    },
  ],
  [
    'an authenticate hook rejecting → 403',
    post({ deviceId: DEVICE }, { 'x-auth': 'async', authorization: 'Bearer reg:read' }),
    errorInfo(
      403,
      'PERMISSION_DENIED',
      'Client does not have sufficient permissions to perform this action.',
    ),
  ],
  [
    'handlers get coerced query, path params, documented headers only (by their spec names), auth, correlator',
    {
      method: 'GET',
      path: `${MOUNT}/sessions/reg%2F1?limit=5`,
      headers: { ...TOKEN, 'x-correlator': 'c-1', 'x-device-tag': 'blue', 'x-other': 'hidden' },
    },
    {
      status: 200,
      body: {
        params: { registrationId: 'reg/1' },
        query: { limit: 5 },
        headers: { 'x-correlator': 'c-1', 'X-Device-Tag': 'blue' },
        correlator: 'c-1',
        auth: { subject: 'alice', scopes: ['reg:create', 'reg:read', 'reg:write', 'reg:delete'] },
      },
    },
  ],
  [
    'query coercion failure is 400',
    { method: 'GET', path: `${MOUNT}/sessions/r1?limit=many`, headers: TOKEN },
    errorInfo(400, 'INVALID_ARGUMENT', 'query/limit must be integer'),
  ],
  [
    'HEAD is served by the GET handler, without a body',
    { method: 'HEAD', path: `${MOUNT}/sessions/r1`, headers: TOKEN },
    { status: 200, body: undefined },
  ],
  [
    'an optional body may be absent, even with content-type: application/json',
    {
      method: 'PUT',
      path: `${MOUNT}/sessions/r1`,
      headers: { ...TOKEN, 'content-type': 'application/json' },
      raw: '',
    },
    { status: 200, body: { registrationId: 'reg-1', sawBody: null } },
  ],
  [
    '204 has no body and no content-type',
    { method: 'DELETE', path: `${MOUNT}/sessions/r1`, headers: TOKEN },
    { status: 204, body: undefined },
  ],
  [
    'parameter names that are not identifiers and literal colons in paths',
    { method: 'POST', path: `${MOUNT}/things/t-1:cancel` },
    { status: 200, body: { 'thing-id': 't-1' } },
  ],
];

describe.each(['express', 'fastify'] as const)('%s router over a hand-written API definition', (name) => {
  let target: Target;
  const logger = recordingLogger();
  beforeAll(async () => {
    const options = {
      authenticate,
      bodyLimit: 1024,
      logger,
      validateResponses: true,
    };
    target =
      name === 'express'
        ? await expressTarget(createExpressRouter(express, api, handlers, options), MOUNT)
        : await fastifyTarget(createFastifyPlugin(api, handlers, options), MOUNT);
  });
  afterAll(() => target.close());

  it.each(cases)('%s', async (_, request, expected) => {
    const response = await target.request(request);
    expect(response).toMatchObject({ ...expected, headers: expect.objectContaining(expected.headers ?? {}) });
    if (response.status !== 204 && request.method !== 'HEAD') {
      expect(response.headers['x-correlator']).toBeDefined();
    }
    if (response.status === 204) expect(response.headers['content-type']).toBeUndefined();
  });

  it('logs internal errors and result violations, never sends them', async () => {
    const crash = await target.request(
      post({ deviceId: DEVICE, mode: 'crash' }, { 'x-correlator': 'log-1' }),
    );
    expect(JSON.stringify(crash.body)).not.toContain('hunter2');
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        details: expect.objectContaining({ correlator: 'log-1', operationId: 'createRegistration' }),
      }),
    );
    await target.request(post({ deviceId: DEVICE, mode: 'wrong-result' }, { 'x-correlator': 'log-2' }));
    expect(logger.entries).toContainEqual({
      message: 'handler result of createRegistration does not match the documented responses',
      details: {
        operationId: 'createRegistration',
        correlator: 'log-2',
        status: 201,
        violations: ['body/registrationId is required'],
      },
    });
  });

  it('a thrown error the operation does not document becomes 500 INTERNAL in dev mode, logged', async () => {
    const gone = await target.request(post({ deviceId: DEVICE, mode: 'gone' }, { 'x-correlator': 'log-3' }));
    expect(gone.status).toBe(500);
    expect(gone.body).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(logger.entries).toContainEqual({
      message: 'error answer of createRegistration does not match the documented responses',
      details: {
        operationId: 'createRegistration',
        correlator: 'log-3',
        status: 410,
        violations: ['status 410 is not documented'],
      },
    });
  });

  it('a body that fails to serialize keeps the exchange’s x-correlator in the answer and the log', async () => {
    for (const mode of ['unserializable', 'async-unserializable']) {
      const response = await target.request(
        post({ deviceId: DEVICE, mode }, { 'x-correlator': `ser-${mode}` }),
      );
      expect(response.status).toBe(500);
      expect(response.headers['x-correlator']).toBe(`ser-${mode}`);
      expect(logger.entries).toContainEqual(
        expect.objectContaining({
          details: expect.objectContaining({ err: expect.any(TypeError), correlator: `ser-${mode}` }),
        }),
      );
    }
  });

  it('generates an x-correlator when the request has none', async () => {
    const response = await target.request(post({ deviceId: DEVICE }));
    expect(response.headers['x-correlator']).toMatch(UUID);
  });
});

describe('router construction', () => {
  const partial = { createRegistration: handlers.createRegistration };
  const authenticateAll = () => ({});

  it.each([
    [
      'express',
      () => createExpressRouter(express, api, partial, { authenticate: authenticateAll }, 'createRegRouter'),
    ],
    [
      'fastify',
      () => createFastifyPlugin(api, partial, { authenticate: authenticateAll }, 'createRegPlugin'),
    ],
  ])('%s: missing handler methods throw at once, naming them', (_, build) => {
    expect(build).toThrow(MissingHandlerError);
    expect(build).toThrow(
      /: no handler for "getRegistrationById", "updateRegistrationById", "deleteRegistrationById", "cancelThing"; implement them or pass `allowPartial: true`/,
    );
  });

  it.each([
    ['express', () => createExpressRouter(express, api, handlers)],
    ['fastify', () => createFastifyPlugin(api, handlers)],
  ])('%s: secured operations without `authenticate` throw at once', (_, build) => {
    expect(build).toThrow(
      /"createRegistration", .* require authorization; pass `authenticate` in the options/,
    );
  });

  it.each(['express', 'fastify'] as const)(
    '%s: allowPartial answers missing operations with 501',
    async (name) => {
      const options = { authenticate: authenticateAll, allowPartial: true };
      const target =
        name === 'express'
          ? await expressTarget(createExpressRouter(express, api, partial, options), MOUNT)
          : await fastifyTarget(createFastifyPlugin(api, partial, options), MOUNT);
      try {
        expect(await target.request({ method: 'DELETE', path: `${MOUNT}/sessions/r1` })).toMatchObject(
          errorInfo(501, 'NOT_IMPLEMENTED', 'This functionality is not implemented yet.'),
        );
      } finally {
        await target.close();
      }
    },
  );
});
