import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expressTarget,
  fastifyTarget,
  recordingLogger,
  type Target,
  type TestRequest,
  type TestResponse,
  UUID,
} from '../../packages/runtime/test/server/harness.js';
import { repoTempDir, typecheck } from '../../test/support/typecheck.js';
import { authMode, operationDescriptor } from '../src/emit/handlers/index.js';
import { generateFiles, writeFiles } from '../src/generate.js';
import type { Operation } from '../src/ir/types.js';

const specDir = new URL('../../spec/', import.meta.url).pathname;

const temps: string[] = [];
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));
async function tempDir(prefix: string): Promise<string> {
  const dir = await repoTempDir(prefix);
  temps.push(dir);
  return dir;
}
const spec = (name: string) => join(specDir, name);

function operation(overrides: Partial<Operation>): Operation {
  return {
    id: 'op',
    idSource: 'document',
    method: 'post',
    path: '/things/{id}',
    deprecated: false,
    tags: [],
    parameters: { path: [], query: [], header: [], cookie: [] },
    responses: [],
    security: [],
    pointer: '/paths/~1things~1{id}/post',
    ...overrides,
  };
}

const header = (name: string) => ({
  name,
  in: 'header' as const,
  required: false,
  deprecated: false,
  schema: { type: 'string' },
  style: 'simple',
  explode: false,
  examples: [],
});

describe('operation table rows', () => {
  it.each([
    ['no security', [], 'none', []],
    [
      'one scheme, one scope',
      [{ schemes: [{ name: 'openId', scopes: ['a:read'] }] }],
      'required',
      ['a:read'],
    ],
    [
      'alternatives: scopes merged, deduplicated',
      [
        { schemes: [{ name: 'openId', scopes: ['a', 'b'] }] },
        { schemes: [{ name: 'oauth', scopes: ['b', 'c'] }] },
      ],
      'required',
      ['a', 'b', 'c'],
    ],
    [
      'an empty alternative makes it optional',
      [{ schemes: [] }, { schemes: [{ name: 'openId', scopes: [] }] }],
      'optional',
      [],
    ],
  ])('security: %s', (_, security, auth, scopes) => {
    const op = operation({ security });
    expect(authMode(op)).toBe(auth);
    expect(operationDescriptor(op)).toMatchObject({ auth, scopes });
  });

  it.each([
    ['no body', undefined, { hasBody: false, bodyRequired: false, mediaTypes: [] }],
    [
      'required JSON body',
      { required: true, content: [{ mediaType: 'application/json', examples: [] }] },
      { hasBody: true, bodyRequired: true, mediaTypes: ['application/json'] },
    ],
    [
      'optional body, media types lower-cased',
      { required: false, content: [{ mediaType: 'Application/Merge-Patch+JSON', examples: [] }] },
      { hasBody: true, bodyRequired: false, mediaTypes: ['application/merge-patch+json'] },
    ],
  ])('request body: %s', (_, requestBody, expected) => {
    expect(operationDescriptor(operation(requestBody ? { requestBody } : {}))).toMatchObject(expected);
  });

  it('method upper case, path as documented, header parameters by their documented names', () => {
    const op = operation({
      parameters: {
        path: [],
        query: [],
        header: [header('x-correlator'), header('registrationId')],
        cookie: [],
      },
    });
    expect(operationDescriptor(op)).toMatchObject({
      method: 'POST',
      path: '/things/{id}',
      headers: ['x-correlator', 'registrationId'],
    });
  });
});

describe('generated handlers, Express router and Fastify plugin', () => {
  it('match the golden files for webrtc-registration', async () => {
    const { files } = await generateFiles({
      specs: [spec('webrtc-registration.yaml')],
      out: '.',
      cwd: specDir,
      emit: ['handlers', 'express', 'fastify'],
    });
    for (const file of files.filter(
      (f) => /\.(handlers|express|fastify)\.gen\.ts$/.test(f.path) || f.path === 'index.ts',
    )) {
      await expect(file.contents).toMatchFileSnapshot(`./__snapshots__/server/${file.path}`);
    }
  });

  it('compile with all three WebRTC documents together; misuse fails to compile', async () => {
    const out = await tempDir('server-types-');
    const { files } = await generateFiles({
      specs: ['webrtc-registration.yaml', 'webrtc-call-handling.yaml', 'webrtc-events.yaml'].map(spec),
      out,
      cwd: specDir,
      emit: ['express', 'fastify'],
    });
    await writeFiles(out, files);
    const usage = join(out, 'usage.ts');
    await writeFile(usage, TYPE_TESTS);
    expect(typecheck([...files.map((f) => join(out, f.path)), usage])).toEqual([]);
  });
});

/** Type tests: each `@ts-expect-error` must be needed, the rest must compile. */
const TYPE_TESTS = `
import express from 'express';
import { fastify, type FastifyRequest } from 'fastify';
import { ConflictError, type HandlerInputOf, type HandlerResultOf } from '@telegate/runtime/server';
import {
  createWebrtcCallHandlingPlugin,
  createWebrtcRegistrationRouter,
  type WebrtcCallHandlingHandlers,
  type WebrtcRegistrationHandlers,
  webrtcCallHandlingMountPath,
  webrtcRegistrationMountPath,
} from './index.js';

interface AppAuth { phoneNumber: string }
const authenticate = async (): Promise<AppAuth> => ({ phoneNumber: '+123456789' });

type Registration = WebrtcRegistrationHandlers<AppAuth, express.Request>;
const registration: Registration = {
  async getRegistrationsByDeviceId(input) {
    const deviceId: string = input.query.deviceId;
    const correlator: string | undefined = input.headers['x-correlator'];
    return { status: 200, body: [{ registrationId: deviceId + (correlator ?? ''), regInfo: { phoneNumber: '+1', regStatus: 'Registered' }, expiresAt: '2030-01-01T00:00:00Z' }] };
  },
  async createRegistration(input) {
    const deviceId: string = input.body.deviceId;
    const phone: string = input.auth.phoneNumber;
    const req: express.Request = input.request;
    if (!req.ip) throw new ConflictError();
    return { status: 201, body: { registrationId: deviceId, regInfo: { phoneNumber: phone, regStatus: 'Registered' }, expiresAt: '2030-01-01T00:00:00Z' } };
  },
  getRegistrationById: (input) =>
    input.params.registrationId === ''
      ? { status: 404, body: { status: 404, code: 'NOT_FOUND', message: 'gone' } }
      : { status: 200, body: { registrationId: input.params.registrationId, regInfo: { phoneNumber: '+1', regStatus: 'Registered' }, expiresAt: '2030-01-01T00:00:00Z' }, headers: { 'x-correlator': input.correlator } },
  updateRegistrationById: (input) => (input.body === undefined ? { status: 204 } : { status: 200, body: { registrationId: 'r', regInfo: { phoneNumber: '+1', regStatus: 'Registered' }, expiresAt: '2030-01-01T00:00:00Z' } }),
  deleteRegistrationById: () => ({ status: 204 }),
};
express().use(webrtcRegistrationMountPath, createWebrtcRegistrationRouter(registration, { authenticate }));

const wrong: Registration = {
  ...registration,
  // @ts-expect-error: 418 is not a documented status
  getRegistrationById: () => ({ status: 418, body: { registrationId: 'x' } }),
  // @ts-expect-error: the 201 body needs registrationId
  createRegistration: async () => ({ status: 201, body: { expiresAt: '2030-01-01T00:00:00Z' } }),
  // @ts-expect-error: the 409 body is an ErrorInfo with code ALREADY_EXISTS
  deleteRegistrationById: () => ({ status: 409, body: { status: 409, code: 'ALREADY_EXISTS', message: 'x' } }),
  // @ts-expect-error: 204 has no body
  updateRegistrationById: () => ({ status: 204, body: { registrationId: 'r' } }),
};
void wrong;

// @ts-expect-error: authenticate is required, the document's operations are secured
createWebrtcRegistrationRouter(registration, {});
// @ts-expect-error: a handlers object without every operation
createWebrtcRegistrationRouter({ createRegistration: registration.createRegistration }, { authenticate });
createWebrtcRegistrationRouter(registration, {
  // @ts-expect-error: authenticate must return what the handlers take as auth
  authenticate: async () => ({ phone: 1 }),
});

// A class (what telegate scaffold writes): signatures through HandlerInputOf / HandlerResultOf.
type CallHandling = WebrtcCallHandlingHandlers<AppAuth, FastifyRequest>;
type Input<K extends string> = HandlerInputOf<CallHandling, K>;
type Result<K extends string> = HandlerResultOf<CallHandling, K>;
class CallHandlingService implements CallHandling {
  async createSession(input: Input<'createSession'>): Promise<Result<'createSession'>> {
    const registrationId: string = input.headers.registrationId;
    return { status: 501, body: { status: 501, code: 'CALLTYPE_EMERGENCY_NOT_SUPPORTED', message: registrationId } };
  }
  async getSessionDetailsById(input: Input<'getSessionDetailsById'>): Promise<Result<'getSessionDetailsById'>> {
    // @ts-expect-error: no such path parameter
    void input.params.sessionId;
    throw new ConflictError();
  }
  async deleteSessionById(): Promise<Result<'deleteSessionById'>> {
    return { status: 204 };
  }
  async updateSessionStatus(): Promise<Result<'updateSessionStatus'>> {
    throw new ConflictError();
  }
  /** An operation removed from the spec: still compiles (typed any), scaffold warns. */
  async removedOperation(input: Input<'removedOperation'>): Promise<Result<'removedOperation'>> {
    return input.body.anything;
  }
}
await fastify().register(createWebrtcCallHandlingPlugin(new CallHandlingService(), { authenticate }), {
  prefix: webrtcCallHandlingMountPath,
});
`;

// ---------------------------------------------------------------------------
// Behaviour: one table, both frameworks, the routers generated from spec/.

const DEVICE = '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10';
/** Device ids that make the test handlers fail in a given way. */
const FAIL = {
  conflict: '00000000-0000-4000-8000-000000000409',
  maxPerUser: '00000000-0000-4000-8000-000000000403',
  crash: '00000000-0000-4000-8000-000000000500',
  wrongResult: '00000000-0000-4000-8000-000000000501',
  unavailable: '00000000-0000-4000-8000-000000000503',
};
const ALL_SCOPES = [
  'webrtc-registration:sessions:read',
  'webrtc-registration:sessions:create',
  'webrtc-registration:sessions:write',
  'webrtc-registration:sessions:delete',
  'webrtc-call-handling:sessions:create',
];
const token = (scopes: string[], phone = '+123456789') => ({
  authorization: `Bearer ${Buffer.from(JSON.stringify({ phone, scopes })).toString('base64url')}`,
});
const TOKEN = token(ALL_SCOPES);
const CALL_TOKEN = token(['read', 'write', 'delete'].map((verb) => `webrtc-call-handling:sessions:${verb}`));

interface Auth {
  phoneNumber: string;
  scopes: string[];
}
type Seen = Record<string, unknown>;

/** Test handlers and `authenticate`, written against the runtime the generated routers import. */
async function testImplementation(seen: Seen[]) {
  const runtime = await import('@telegate/runtime/server');
  const authenticate = (request: { headers: Record<string, unknown> }, scopes: readonly string[]): Auth => {
    const value = request.headers.authorization;
    if (typeof value !== 'string' || !value.startsWith('Bearer ')) throw new runtime.UnauthenticatedError();
    let claims: { phone: string; scopes: string[] };
    try {
      claims = JSON.parse(Buffer.from(value.slice(7), 'base64url').toString());
    } catch {
      throw new runtime.UnauthenticatedError();
    }
    if (!scopes.every((s) => claims.scopes.includes(s))) throw new runtime.PermissionDeniedError();
    return { phoneNumber: claims.phone, scopes: claims.scopes };
  };
  const record = ({ request: _request, ...input }: Seen) => seen.push(input);
  const registration = (id: string, auth: Auth) => ({
    registrationId: id,
    expiresAt: '2030-01-01T00:00:00.000Z',
    regInfo: { phoneNumber: auth.phoneNumber, regStatus: 'Registered' },
  });
  const registrationHandlers = {
    getRegistrationsByDeviceId(input: { auth: Auth } & Seen) {
      record(input);
      return { status: 200, body: [registration('reg-1', input.auth)] };
    },
    createRegistration(
      input: { body: { deviceId: string; registrationExpireTime?: string }; auth: Auth } & Seen,
    ) {
      record(input);
      const { deviceId, registrationExpireTime } = input.body;
      if (registrationExpireTime && Date.parse(registrationExpireTime) < Date.now()) {
        throw new runtime.InvalidArgumentError('registrationExpireTime is in the past', {
          code: 'OUT_OF_RANGE',
        });
      }
      switch (deviceId) {
        case FAIL.conflict:
          throw new runtime.ConflictError(
            'An active registration already exists for the supplied deviceId and the phoneNumber resolved from the access token.',
          );
        case FAIL.maxPerUser:
          throw new runtime.PermissionDeniedError(
            'The maximum number of service registrations per user has been reached',
            {
              code: 'MAX_REGISTRATION_PER_USER',
            },
          );
        case FAIL.crash:
          throw new Error('store unreachable at redis://admin:hunter2@10.0.0.7');
        case FAIL.wrongResult:
          return { status: 201, body: { expiresAt: 'tomorrow' } };
        case FAIL.unavailable:
          throw new runtime.ServiceUnavailableError(undefined, { retryAfter: 5 });
      }
      return { status: 201, body: registration('reg-1', input.auth) };
    },
    getRegistrationById(input: { params: { registrationId: string }; auth: Auth } & Seen) {
      record(input);
      if (input.params.registrationId === 'gone') throw new runtime.NotFoundError();
      return { status: 200, body: registration(input.params.registrationId, input.auth) };
    },
    updateRegistrationById(input: { body?: { registrationExpireTime?: string }; auth: Auth } & Seen) {
      record(input);
      return input.body?.registrationExpireTime
        ? {
            status: 200,
            body: { ...registration('reg-1', input.auth), expiresAt: input.body.registrationExpireTime },
          }
        : { status: 204 };
    },
    deleteRegistrationById(input: Seen) {
      record(input);
      return { status: 204 };
    },
  };
  const callHandlers = {
    createSession(input: Seen) {
      record(input);
      throw new runtime.NotImplementedError('Server does not support call type EMERGENCY.', {
        code: 'CALLTYPE_EMERGENCY_NOT_SUPPORTED',
      });
    },
    getSessionDetailsById: () => {
      throw new runtime.NotFoundError();
    },
    deleteSessionById: () => ({ status: 204 }),
    updateSessionStatus: () => {
      throw new runtime.ConflictError(undefined, { code: 'INCOMPATIBLE_STATE' });
    },
  };
  return { authenticate, registrationHandlers, callHandlers };
}

const CALL_BODY = {
  originatorAddress: 'tel:+123456789',
  receiverAddress: 'tel:+198765432',
  offer: { sdp: 'v=0' },
};
const REG = '/webrtc-registration/vwip';
const CALL = '/webrtc-call-handling/vwip';
const json = expect.stringMatching(/^application\/json/);
const errorInfo = (status: number, code: string, message: string) => ({
  status,
  headers: { 'content-type': json },
  body: { status, code, message },
});
const post = (body: unknown, headers: Record<string, string> = {}): TestRequest => ({
  method: 'POST',
  path: `${REG}/sessions`,
  headers: { ...TOKEN, ...headers },
  body,
});

interface Case {
  request: TestRequest;
  response: Partial<Omit<TestResponse, 'headers'>> & { headers?: Record<string, unknown> };
  /** What the handler received (without `request`). */
  seen?: Seen;
  /** What was logged. */
  logged?: unknown;
}

const CASES: [string, Case][] = [
  [
    'createRegistration: typed input, 201, x-correlator echoed',
    {
      request: post({ deviceId: DEVICE }, { 'x-correlator': 'b4333c46-49c0-4f62-80d7-f0ef930f1c46' }),
      response: {
        status: 201,
        headers: { 'content-type': json, 'x-correlator': 'b4333c46-49c0-4f62-80d7-f0ef930f1c46' },
        body: {
          registrationId: 'reg-1',
          expiresAt: '2030-01-01T00:00:00.000Z',
          regInfo: { phoneNumber: '+123456789', regStatus: 'Registered' },
        },
      },
      seen: {
        params: {},
        query: {},
        headers: { 'x-correlator': 'b4333c46-49c0-4f62-80d7-f0ef930f1c46' },
        body: { deviceId: DEVICE },
        correlator: 'b4333c46-49c0-4f62-80d7-f0ef930f1c46',
        auth: { phoneNumber: '+123456789', scopes: ALL_SCOPES },
      },
    },
  ],
  [
    'no x-correlator: one is generated',
    {
      request: post({ deviceId: DEVICE }),
      response: { status: 201, headers: { 'x-correlator': expect.stringMatching(UUID) } },
    },
  ],
  [
    'invalid x-correlator → 400, not echoed',
    {
      request: post({ deviceId: DEVICE }, { 'x-correlator': 'no spaces allowed' }),
      response: {
        ...errorInfo(
          400,
          'INVALID_ARGUMENT',
          'header/x-correlator must match pattern "^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$"',
        ),
        headers: { 'x-correlator': expect.stringMatching(UUID) },
      },
    },
  ],
  [
    'invalid body field → 400 naming it',
    {
      request: post({ deviceId: 'not-a-uuid' }),
      response: errorInfo(400, 'INVALID_ARGUMENT', 'body/deviceId must match format "uuid"'),
    },
  ],
  [
    'missing required body → 400',
    {
      request: { method: 'POST', path: `${REG}/sessions`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'request body is required'),
    },
  ],
  [
    'malformed JSON → 400',
    {
      request: {
        method: 'POST',
        path: `${REG}/sessions`,
        headers: { ...TOKEN, 'content-type': 'application/json' },
        raw: '{"deviceId":',
      },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'The request body is malformed or is not valid JSON.'),
    },
  ],
  [
    'wrong content type → 415',
    {
      request: {
        method: 'POST',
        path: `${REG}/sessions`,
        headers: { ...TOKEN, 'content-type': 'application/xml' },
        raw: '<x/>',
      },
      response: errorInfo(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'The server refuses to accept the request because the payload format is in an unsupported format.',
      ),
    },
  ],
  [
    'body too large → 413',
    {
      request: post({ deviceId: DEVICE, registrationExpireTime: 'x'.repeat(3000) }),
      response: errorInfo(413, 'CONTENT_TOO_LARGE', 'The request body is larger than the server accepts.'),
    },
  ],
  [
    'missing required query parameter → 400',
    {
      request: { method: 'GET', path: `${REG}/sessions`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'query/deviceId is required'),
    },
  ],
  [
    'path parameter too long → 400',
    {
      request: { method: 'GET', path: `${REG}/sessions/${'r'.repeat(300)}`, headers: TOKEN },
      response: errorInfo(
        400,
        'INVALID_ARGUMENT',
        'path/registrationId must NOT have more than 256 characters',
      ),
    },
  ],
  [
    'getRegistrationsByDeviceId: query reaches the handler',
    {
      request: {
        method: 'GET',
        path: `${REG}/sessions?deviceId=${DEVICE}`,
        headers: { ...TOKEN, 'x-correlator': 'q-1' },
      },
      response: { status: 200, body: [expect.objectContaining({ registrationId: 'reg-1' })] },
      seen: expect.objectContaining({ query: { deviceId: DEVICE }, correlator: 'q-1' }),
    },
  ],
  [
    'getRegistrationById: decoded path parameter',
    {
      request: { method: 'GET', path: `${REG}/sessions/reg%3A42`, headers: TOKEN },
      response: { status: 200, body: expect.objectContaining({ registrationId: 'reg:42' }) },
      seen: expect.objectContaining({ params: { registrationId: 'reg:42' } }),
    },
  ],
  [
    'unknown path → 404',
    {
      request: { method: 'GET', path: `${REG}/registrations`, headers: { 'x-correlator': 'nf-1' } },
      response: {
        ...errorInfo(404, 'NOT_FOUND', 'The specified resource is not found.'),
        headers: { 'x-correlator': 'nf-1', 'content-type': json },
      },
    },
  ],
  [
    'undocumented method → 405 with Allow',
    {
      request: { method: 'PATCH', path: `${REG}/sessions`, headers: TOKEN },
      response: {
        ...errorInfo(
          405,
          'METHOD_NOT_ALLOWED',
          'The requested method is not allowed/supported on the target resource.',
        ),
        headers: { allow: 'GET, HEAD, POST' },
      },
    },
  ],
  [
    'no token → 401',
    {
      request: { method: 'POST', path: `${REG}/sessions`, body: { deviceId: DEVICE } },
      response: errorInfo(
        401,
        'UNAUTHENTICATED',
        'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
      ),
    },
  ],
  [
    'token without the operation scope → 403',
    {
      request: post({ deviceId: DEVICE }, token(['webrtc-registration:sessions:read'])),
      response: errorInfo(
        403,
        'PERMISSION_DENIED',
        'Client does not have sufficient permissions to perform this action.',
      ),
    },
  ],
  [
    'the read scope is enough for a read',
    {
      request: {
        method: 'GET',
        path: `${REG}/sessions/reg-7`,
        headers: token(['webrtc-registration:sessions:read']),
      },
      response: { status: 200 },
    },
  ],
  [
    'ConflictError → 409 ALREADY_EXISTS',
    {
      request: post({ deviceId: FAIL.conflict }),
      response: errorInfo(
        409,
        'ALREADY_EXISTS',
        'An active registration already exists for the supplied deviceId and the phoneNumber resolved from the access token.',
      ),
    },
  ],
  [
    'InvalidArgumentError OUT_OF_RANGE → 400',
    {
      request: post({ deviceId: DEVICE, registrationExpireTime: '2001-01-01T00:00:00Z' }),
      response: errorInfo(400, 'OUT_OF_RANGE', 'registrationExpireTime is in the past'),
    },
  ],
  [
    'PermissionDeniedError MAX_REGISTRATION_PER_USER → 403',
    {
      request: post({ deviceId: FAIL.maxPerUser }),
      response: errorInfo(
        403,
        'MAX_REGISTRATION_PER_USER',
        'The maximum number of service registrations per user has been reached',
      ),
    },
  ],
  [
    'NotFoundError → 404',
    {
      request: { method: 'GET', path: `${REG}/sessions/gone`, headers: TOKEN },
      response: errorInfo(404, 'NOT_FOUND', 'The specified resource is not found.'),
    },
  ],
  [
    'ServiceUnavailableError → 503 with Retry-After',
    {
      request: post({ deviceId: FAIL.unavailable }),
      response: { ...errorInfo(503, 'UNAVAILABLE', 'Service Unavailable.'), headers: { 'retry-after': '5' } },
    },
  ],
  [
    'an unexpected error → 500 INTERNAL, message not leaked, logged',
    {
      request: post({ deviceId: FAIL.crash }, { 'x-correlator': 'crash-1' }),
      response: errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
      logged: expect.objectContaining({
        message: 'handler failed',
        details: expect.objectContaining({ operationId: 'createRegistration', correlator: 'crash-1' }),
      }),
    },
  ],
  [
    'a handler result that breaks the documented response → 500 INTERNAL, violations logged',
    {
      request: post({ deviceId: FAIL.wrongResult }, { 'x-correlator': 'wrong-1' }),
      response: errorInfo(500, 'INTERNAL', 'Unknown server error. Typically a server bug.'),
      logged: {
        message: 'handler result of createRegistration does not match the documented responses',
        details: {
          operationId: 'createRegistration',
          correlator: 'wrong-1',
          status: 201,
          violations: [
            'body/registrationId is required',
            'body/regInfo is required',
            'body/expiresAt must match format "date-time"',
          ],
        },
      },
    },
  ],
  [
    'updateRegistrationById without a body → 204, no body',
    {
      request: { method: 'PUT', path: `${REG}/sessions/reg-1`, headers: TOKEN },
      response: { status: 204, body: undefined },
      seen: expect.objectContaining({ body: undefined, params: { registrationId: 'reg-1' } }),
    },
  ],
  [
    'updateRegistrationById with a body → 200',
    {
      request: {
        method: 'PUT',
        path: `${REG}/sessions/reg-1`,
        headers: TOKEN,
        body: { registrationExpireTime: '2031-01-01T00:00:00.000Z' },
      },
      response: { status: 200, body: expect.objectContaining({ expiresAt: '2031-01-01T00:00:00.000Z' }) },
    },
  ],
  [
    'deleteRegistrationById → 204',
    {
      request: { method: 'DELETE', path: `${REG}/sessions/reg-1`, headers: TOKEN },
      response: { status: 204, body: undefined },
    },
  ],
  [
    'call handling: a required header parameter reaches the handler by its documented name',
    {
      request: {
        method: 'POST',
        path: `${CALL}/sessions`,
        headers: { ...TOKEN, registrationId: 'reg-9' },
        body: CALL_BODY,
      },
      response: errorInfo(
        501,
        'CALLTYPE_EMERGENCY_NOT_SUPPORTED',
        'Server does not support call type EMERGENCY.',
      ),
      seen: expect.objectContaining({ headers: { registrationId: 'reg-9' } }),
    },
  ],
  [
    'call handling: a missing required header → 400',
    {
      request: { method: 'POST', path: `${CALL}/sessions`, headers: TOKEN, body: CALL_BODY },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'header/registrationid is required'),
    },
  ],
  [
    'DELETE registration/sessions (missing path parameter) → 400 naming it',
    {
      request: { method: 'DELETE', path: `${REG}/sessions`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/registrationId is required'),
    },
  ],
  [
    'DELETE registration/sessions/ (missing path parameter) → 400 naming it',
    {
      request: { method: 'DELETE', path: `${REG}/sessions/`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/registrationId is required'),
    },
  ],
  [
    'GET registration/sessions/ (missing path parameter) → 400 naming it',
    {
      request: { method: 'GET', path: `${REG}/sessions/`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/registrationId is required'),
    },
  ],
  [
    'PUT registration/sessions (missing path parameter) → 400 naming it',
    {
      request: { method: 'PUT', path: `${REG}/sessions`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/registrationId is required'),
    },
  ],
  [
    'PUT registration/sessions/ (missing path parameter) → 400 naming it',
    {
      request: { method: 'PUT', path: `${REG}/sessions/`, headers: TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/registrationId is required'),
    },
  ],
  [
    'DELETE call handling/sessions (missing path parameter) → 400 naming it',
    {
      request: { method: 'DELETE', path: `${CALL}/sessions`, headers: CALL_TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/mediaSessionId is required'),
    },
  ],
  [
    'DELETE call handling/sessions/ (missing path parameter) → 400 naming it',
    {
      request: { method: 'DELETE', path: `${CALL}/sessions/`, headers: CALL_TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/mediaSessionId is required'),
    },
  ],
  [
    'GET call handling/sessions (missing path parameter) → 400 naming it',
    {
      request: { method: 'GET', path: `${CALL}/sessions`, headers: CALL_TOKEN },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/mediaSessionId is required'),
    },
  ],
  [
    'PUT call handling/sessions//status (missing path parameter) → 400 naming it',
    {
      request: {
        method: 'PUT',
        path: `${CALL}/sessions//status`,
        headers: CALL_TOKEN,
        body: { status: 'Connected' },
      },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/mediaSessionId is required'),
    },
  ],
  [
    'PUT call handling/sessions/status (missing path parameter) → 400 naming it',
    {
      request: {
        method: 'PUT',
        path: `${CALL}/sessions/status`,
        headers: CALL_TOKEN,
        body: { status: 'Connected' },
      },
      response: errorInfo(400, 'INVALID_ARGUMENT', 'path/mediaSessionId is required'),
    },
  ],
  [
    'a missing path parameter without a token → 401 first',
    {
      request: { method: 'DELETE', path: `${REG}/sessions` },
      response: {
        ...errorInfo(
          401,
          'UNAUTHENTICATED',
          'Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.',
        ),
        headers: { 'www-authenticate': 'Bearer' },
      },
    },
  ],
  [
    'a documented method on the cut path is still served: POST /sessions is not a missing parameter',
    {
      request: { method: 'PATCH', path: `${REG}/sessions`, headers: TOKEN },
      response: { status: 405, headers: { allow: 'GET, HEAD, POST' } },
    },
  ],
];

describe.each(['express', 'fastify'] as const)('%s, generated from spec/', (framework) => {
  let target: Target;
  const seen: Seen[] = [];
  const logger = recordingLogger();

  beforeAll(async () => {
    const out = await tempDir(`server-${framework}-`);
    const { files } = await generateFiles({
      specs: [spec('webrtc-registration.yaml'), spec('webrtc-call-handling.yaml')],
      out,
      cwd: specDir,
      emit: [framework],
    });
    await writeFiles(out, files);
    const { authenticate, registrationHandlers, callHandlers } = await testImplementation(seen);
    const options = { authenticate, logger, bodyLimit: 2048, validateResponses: true };
    if (framework === 'express') {
      const reg = await import(join(out, 'webrtc-registration.express.gen.ts'));
      const call = await import(join(out, 'webrtc-call-handling.express.gen.ts'));
      const router = express.Router();
      router.use(REG, reg.createWebrtcRegistrationRouter(registrationHandlers, options));
      router.use(CALL, call.createWebrtcCallHandlingRouter(callHandlers, options));
      target = await expressTarget(router, '');
    } else {
      const reg = await import(join(out, 'webrtc-registration.fastify.gen.ts'));
      const call = await import(join(out, 'webrtc-call-handling.fastify.gen.ts'));
      target = await fastifyTarget(async (app) => {
        await app.register(reg.createWebrtcRegistrationPlugin(registrationHandlers, options), {
          prefix: REG,
        });
        await app.register(call.createWebrtcCallHandlingPlugin(callHandlers, options), { prefix: CALL });
      }, '');
    }
  });
  afterAll(() => target?.close());

  it.each(CASES)('%s', async (_, { request, response, seen: expectedInput, logged }) => {
    seen.length = 0;
    logger.entries.length = 0;
    const actual = await target.request(request);
    expect(actual).toMatchObject({ ...response, headers: expect.objectContaining(response.headers ?? {}) });
    if (actual.status === 204) expect(actual.headers['content-type']).toBeUndefined();
    else expect(actual.headers['x-correlator']).toBeDefined();
    if (expectedInput) expect(seen).toEqual([expectedInput]);
    if (logged) expect(logger.entries).toEqual([logged]);
    else expect(logger.entries).toEqual([]);
  });
});
