import { readdir, readFile } from 'node:fs/promises';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  ApiError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  newCorrelator,
  PermissionDeniedError,
  resolveCorrelator,
  ServiceUnavailableError,
  TooManyRequestsError,
  toErrorResponse,
  UnauthenticatedError,
  UnprocessableError,
  X_CORRELATOR_PATTERN,
} from '../../src/server/index.js';
import { documentParams, routePath } from '../../src/server/paths.js';
import { hasRequestBody, isJsonMediaType, mediaTypeOf } from '../../src/server/pipeline.js';

describe('toErrorResponse: thrown values → CAMARA ErrorInfo', () => {
  it.each([
    [new InvalidArgumentError(), 400, 'INVALID_ARGUMENT'],
    [new InvalidArgumentError('too early', { code: 'OUT_OF_RANGE' }), 400, 'OUT_OF_RANGE'],
    [new UnauthenticatedError(), 401, 'UNAUTHENTICATED'],
    [new PermissionDeniedError(undefined, { code: 'INVALID_TOKEN_CONTEXT' }), 403, 'INVALID_TOKEN_CONTEXT'],
    [new NotFoundError(), 404, 'NOT_FOUND'],
    [new ConflictError(), 409, 'ALREADY_EXISTS'],
    [new ConflictError('busy', { code: 'INCOMPATIBLE_STATE' }), 409, 'INCOMPATIBLE_STATE'],
    [new AbortedError(), 409, 'ABORTED'],
    [new UnprocessableError('no', { code: 'SERVICE_NOT_APPLICABLE' }), 422, 'SERVICE_NOT_APPLICABLE'],
    [new TooManyRequestsError(undefined, { code: 'QUOTA_EXCEEDED' }), 429, 'QUOTA_EXCEEDED'],
    [new NotImplementedError(), 501, 'NOT_IMPLEMENTED'],
    [new ServiceUnavailableError(), 503, 'UNAVAILABLE'],
    [new ApiError(418, 'TEAPOT', 'short and stout'), 418, 'TEAPOT'],
  ])('%s', (error, status, code) => {
    expect(toErrorResponse(error)).toMatchObject({
      status,
      body: { status, code, message: error.message },
      internal: false,
    });
  });

  it.each([
    ['a plain Error', new Error('password=hunter2')],
    ['a string', 'boom'],
    ['an upstream error carrying a status', Object.assign(new Error('upstream said 404'), { status: 404 })],
    ['undefined', undefined],
  ])('%s → 500 INTERNAL with the fixed message, marked internal', (_, thrown) => {
    expect(toErrorResponse(thrown)).toEqual({
      status: 500,
      headers: {},
      body: { status: 500, code: 'INTERNAL', message: 'Unknown server error. Typically a server bug.' },
      internal: true,
    });
  });

  it.each([
    [
      'body-parser: entity.too.large',
      { status: 413, expose: true, type: 'entity.too.large' },
      413,
      'CONTENT_TOO_LARGE',
    ],
    [
      'body-parser: entity.parse.failed',
      { status: 400, expose: true, message: 'Unexpected token' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'fastify: FST_ERR_CTP_INVALID_MEDIA_TYPE',
      { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'fastify: FST_ERR_CTP_BODY_TOO_LARGE',
      { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
      413,
      'CONTENT_TOO_LARGE',
    ],
  ])('framework error %s', (_, error, status, code) => {
    const response = toErrorResponse(error);
    expect(response).toMatchObject({ status, body: { status, code }, internal: false });
    expect(response.body.message).not.toContain('Unexpected token');
  });

  it('recognises an ApiError from another copy of the runtime by its brand', () => {
    const foreign = {
      [Symbol.for('telegate.ApiError')]: true,
      status: 404,
      code: 'NOT_FOUND',
      message: 'gone',
      headers: {},
    };
    Object.setPrototypeOf(foreign, {
      toErrorInfo: () => ({ status: 404, code: 'NOT_FOUND', message: 'gone' }),
    });
    expect(toErrorResponse(foreign)).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'gone' },
    });
  });

  it('sets Retry-After from retryAfter (seconds)', () => {
    expect(toErrorResponse(new TooManyRequestsError(undefined, { retryAfter: 2.5 })).headers).toEqual({
      'retry-after': '3',
    });
  });
});

describe('resolveCorrelator', () => {
  const generate = () => 'generated';
  it.each([
    [undefined, { ok: true, correlator: 'generated' }],
    ['', { ok: true, correlator: 'generated' }],
    [
      'b4333c46-49c0-4f62-80d7-f0ef930f1c46',
      { ok: true, correlator: 'b4333c46-49c0-4f62-80d7-f0ef930f1c46' },
    ],
    ['a:b;c.d/e<f>{g}_h', { ok: true, correlator: 'a:b;c.d/e<f>{g}_h' }],
    ['x'.repeat(256), { ok: true, correlator: 'x'.repeat(256) }],
    ['x'.repeat(257), { ok: false, correlator: 'generated' }],
    ['with space', { ok: false, correlator: 'generated' }],
    ['crlf\r\ninjected: 1', { ok: false, correlator: 'generated' }],
    [['a', 'b'], { ok: false, correlator: 'generated' }],
  ])('%j', (value, expected) => {
    expect(resolveCorrelator(value, generate)).toMatchObject(expected);
  });
});

describe('newCorrelator', () => {
  it('makes UUID-shaped values that match the XCorrelator pattern and do not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(newCorrelator());
    expect(seen.size).toBe(20_000);
    for (const value of [...seen].slice(0, 50)) {
      expect(value).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(X_CORRELATOR_PATTERN.test(value)).toBe(true);
    }
  });

  it('counts down in its last 8 hex digits after a random prefix', () => {
    const [a, b, c] = [newCorrelator(), newCorrelator(), newCorrelator()];
    expect(new Set([a.slice(0, 28), b.slice(0, 28), c.slice(0, 28)]).size).toBe(1);
    const tail = (value: string) => Number.parseInt(value.slice(28), 16);
    expect([tail(a) - tail(b), tail(b) - tail(c)]).toEqual([1, 1]);
  });

  it('is the default for requests without one', () => {
    const { correlator } = resolveCorrelator(undefined);
    expect(correlator).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(resolveCorrelator(undefined).correlator).not.toBe(correlator);
  });
});

describe('routePath', () => {
  it.each([
    ['/sessions', 'express', '/sessions', []],
    [
      '/sessions/{registrationId}',
      'express',
      '/sessions/:registrationId',
      [['registrationId', 'registrationId']],
    ],
    [
      '/sessions/{registrationId}',
      'fastify',
      '/sessions/:registrationId',
      [['registrationId', 'registrationId']],
    ],
    ['/things/{thing-id}/x', 'express', '/things/:p0/x', [['thing-id', 'p0']]],
    ['/things/{id}:cancel', 'express', '/things/:id\\:cancel', [['id', 'id']]],
    ['/things/{id}:cancel', 'fastify', '/things/:id(^[^/]+)::cancel', [['id', 'id']]],
    ['/a(b)/{x}', 'express', '/a\\(b\\)/:x', [['x', 'x']]],
  ] as const)('%s (%s)', (template, style, path, params) => {
    expect(routePath(template, style)).toEqual({ path, params });
  });

  it('maps framework params back to the documented names', () => {
    const route = routePath('/a/{thing-id}/{b}', 'express');
    expect(documentParams(route, { p0: '1', b: '2' })).toEqual({ 'thing-id': '1', b: '2' });
  });
});

describe('request helpers', () => {
  it.each([
    ['application/json', true],
    ['application/cloudevents+json', true],
    ['application/merge-patch+json', true],
    ['text/plain', false],
    ['application/jsonx', false],
  ])('isJsonMediaType(%s)', (type, expected) => expect(isJsonMediaType(type)).toBe(expected));

  it.each([
    [undefined, ''],
    ['Application/JSON; charset=utf-8', 'application/json'],
    [['text/plain', 'x'], 'text/plain'],
  ])('mediaTypeOf(%j)', (value, expected) => expect(mediaTypeOf(value)).toBe(expected));

  it.each([
    [{}, false],
    [{ 'content-length': '0' }, false],
    [{ 'content-length': '12' }, true],
    [{ 'transfer-encoding': 'chunked' }, true],
  ])('hasRequestBody(%j)', (headers, expected) => expect(hasRequestBody(headers)).toBe(expected));
});

describe('@telegate/runtime/server loads without Express or Fastify', () => {
  it('imports them for types only', async () => {
    const dir = new URL('../../src/server/', import.meta.url);
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.ts'))) {
      const source = await readFile(new URL(file, dir), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          verbatimModuleSyntax: true,
          target: ts.ScriptTarget.ES2022,
        },
      });
      expect(outputText, file).not.toMatch(
        /from ['"](express|fastify)['"]|import\(['"](express|fastify)['"]\)/,
      );
    }
  });
});
