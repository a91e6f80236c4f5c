import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpressRouter } from '../../src/express/index.js';
import { createFastifyPlugin } from '../../src/fastify/index.js';
import type { ApiDefinition } from '../../src/server/index.js';
import {
  createResponseSerializers,
  serializationSchema,
  serializerWalkSize,
} from '../../src/server/serializers.js';
import type { ResponseSchemas } from '../../src/validation/index.js';
import { expressTarget, fastifyTarget, recordingLogger, type Target } from './harness.js';

const schemas: ResponseSchemas = {
  id: 'test:defs',
  definitions: {
    Registration: {
      type: 'object',
      required: ['registrationId'],
      properties: {
        registrationId: { type: 'string' },
        expiresAt: { type: 'string', format: 'date-time' },
        labels: { type: 'object' },
        attempts: { type: 'integer' },
      },
    },
    ErrorInfo: {
      type: 'object',
      required: ['status', 'code', 'message'],
      properties: { status: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
    },
  },
  operations: {
    createRegistration: {
      '201': { $ref: 'test:defs#/definitions/Registration' },
      '4XX': { $ref: 'test:defs#/definitions/ErrorInfo' },
      default: { type: 'object', properties: { fallback: { type: 'boolean' } } },
    },
    listRegistrations: {
      '200': { type: 'array', items: { $ref: 'test:defs#/definitions/Registration' } },
    },
  },
};

describe('serializationSchema', () => {
  it('keeps every property of an object that documents none (a free-form map)', () => {
    expect(serializationSchema({ type: 'object' })).toEqual({ type: 'object', additionalProperties: true });
    expect(serializationSchema({ type: ['object', 'null'] })).toEqual({
      type: ['object', 'null'],
      additionalProperties: true,
    });
  });

  it('leaves objects with documented properties, and composed or referenced schemas, as they are', () => {
    for (const schema of [
      { type: 'object', properties: { a: { type: 'string' } } },
      { type: 'object', additionalProperties: false },
      { type: 'object', additionalProperties: { type: 'string' } },
      { type: 'object', patternProperties: { '^x-': { type: 'string' } } },
      { type: 'object', allOf: [{ properties: { a: { type: 'string' } } }] },
      { type: 'object', oneOf: [{ properties: { a: { type: 'string' } } }] },
      { $ref: 'test:defs#/definitions/Registration' },
      { type: 'string' },
    ]) {
      expect(serializationSchema(schema)).toEqual(schema);
    }
  });

  it('applies to nested schemas: properties, items, compositions, additionalProperties', () => {
    expect(
      serializationSchema({
        type: 'object',
        properties: { map: { type: 'object' }, list: { type: 'array', items: { type: 'object' } } },
        additionalProperties: { type: 'object' },
        oneOf: [{ type: 'object' }],
      }),
    ).toEqual({
      type: 'object',
      properties: {
        map: { type: 'object', additionalProperties: true },
        list: { type: 'array', items: { type: 'object', additionalProperties: true } },
      },
      additionalProperties: { type: 'object', additionalProperties: true },
      oneOf: [{ type: 'object', additionalProperties: true }],
    });
  });
});

describe('serializationSchema: discriminator dispatch', () => {
  const when = (property: string, value: string, then: string) => ({
    if: { properties: { [property]: { const: value } }, required: [property] },
    then: { $ref: then },
  });
  const base = { type: 'object', properties: { kind: { type: 'string' } } };

  it('becomes one if/then/else chain, after the other allOf members', () => {
    expect(
      serializationSchema({
        ...base,
        allOf: [when('kind', 'cat', '#Cat'), { required: ['kind'] }, when('kind', 'dog', '#Dog')],
      }),
    ).toEqual({
      ...base,
      allOf: [{ required: ['kind'] }, { ...when('kind', 'cat', '#Cat'), else: when('kind', 'dog', '#Dog') }],
    });
  });

  it('is left alone with a single entry, entries on different properties, or other conditions', () => {
    for (const allOf of [
      [when('kind', 'cat', '#Cat')],
      [when('kind', 'cat', '#Cat'), when('type', 'dog', '#Dog')],
      [
        when('kind', 'cat', '#Cat'),
        { if: { properties: { kind: { enum: ['dog'] } } }, then: { $ref: '#Dog' } },
      ],
      [when('kind', 'cat', '#Cat'), { ...when('kind', 'dog', '#Dog'), else: { $ref: '#Other' } }],
    ]) {
      expect(serializationSchema({ ...base, allOf })).toEqual({ ...base, allOf });
    }
  });
});

describe('createResponseSerializers', () => {
  const serializers = createResponseSerializers(schemas);
  const create = serializers.get('createRegistration')!;

  it('finds the serializer of a status as documented: exact, then its range, then default', () => {
    expect(JSON.parse(create(201)!({ registrationId: 'r', extra: 1 }))).toEqual({ registrationId: 'r' });
    expect(JSON.parse(create(404)!({ status: 404, code: 'NOT_FOUND', message: 'm', stack: 's' }))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
      message: 'm',
    });
    expect(JSON.parse(create(503)!({ fallback: true, other: 1 }))).toEqual({ fallback: true });
    expect(serializers.get('listRegistrations')!(201)).toBeUndefined();
    expect(serializers.get('unknown')).toBeUndefined();
  });

  it('writes documented values as JSON.stringify does: dates, free-form maps, arrays', () => {
    const body = {
      registrationId: 'a"b\\c\u2028',
      expiresAt: new Date('2026-01-02T03:04:05.006Z'),
      labels: { nested: { deep: [1, 'two', null] }, 'odd"key': true },
      attempts: 3,
    };
    const written = create(201)!(body);
    expect(JSON.parse(written)).toEqual(JSON.parse(JSON.stringify(body)));
    const list = serializers.get('listRegistrations')!(200)!;
    expect(list([{ registrationId: 'x' }, { registrationId: 'y', secret: 1 }])).toBe(
      '[{"registrationId":"x"},{"registrationId":"y"}]',
    );
  });

  it('converts a value of another type to the documented one', () => {
    expect(create(201)!({ registrationId: 5, attempts: '3' })).toBe('{"registrationId":"5","attempts":3}');
  });

  it('throws on a body without a required property', () => {
    expect(() => create(201)!({ expiresAt: '2026-01-02T03:04:05Z' })).toThrow(/registrationId/);
  });

  it('compiles each distinct schema once', () => {
    const shared = { $ref: 'test:defs#/definitions/ErrorInfo' };
    const twice = createResponseSerializers({
      ...schemas,
      operations: { a: { '400': shared }, b: { '409': { ...shared } } },
    });
    expect(twice.get('a')!(400)).toBe(twice.get('b')!(409));
  });

  it('leaves a schema it cannot compile to JSON.stringify (no serializer)', () => {
    const broken = createResponseSerializers({
      ...schemas,
      operations: { a: { '200': { $ref: 'test:defs#/definitions/Missing' }, '201': { type: 'string' } } },
    });
    expect(broken.get('a')!(200)).toBeUndefined();
    expect(broken.get('a')!(201)!('x')).toBe('"x"');
  });

  it('leaves a body to JSON.stringify when its shared references would make the compile walk explode', () => {
    // Each level refers to the next twice: 2^40 paths through 40 schemas. fast-json-stringify walks
    // every path; the walk is counted first, in linear time, and the body is not compiled.
    const levels = 40;
    const definitions: Record<string, unknown> = {};
    for (let i = 0; i < levels; i++) {
      const next = i + 1 < levels ? { $ref: `test:defs#/definitions/L${i + 1}` } : { type: 'string' };
      definitions[`L${i}`] = { type: 'object', properties: { a: next, b: next } };
    }
    const wide = {
      id: 'test:defs',
      definitions,
      operations: { a: { '200': { $ref: 'test:defs#/definitions/L0' } } },
    };
    const uncompiled: unknown[] = [];
    const serializers = createResponseSerializers(wide, ({ status, error }) =>
      uncompiled.push([status, (error as Error).message]),
    );
    expect(serializers.get('a')!(200)).toBeUndefined();
    expect(uncompiled).toEqual([['200', expect.stringMatching(/walk more than 20,000 schemas/)]]);
    const external = { 'test:defs': { $id: 'test:defs', definitions } };
    // Every path: the root $ref, then per level (L30..L39) itself and its two properties, each
    // entering the next level; L39's two properties are the same string schema, visited twice.
    expect(serializerWalkSize({ $ref: 'test:defs#/definitions/L30' }, external)).toBe(1 + 3 * (2 ** 10 - 1));
    expect(serializerWalkSize({ $ref: 'test:defs#/definitions/L0' }, external, 1000)).toBe(1000);
  });

  it('compiles a recursive schema (a tree) whose walk is small', () => {
    const tree = {
      id: 'test:defs',
      definitions: {
        Node: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            children: { type: 'array', items: { $ref: 'test:defs#/definitions/Node' } },
          },
        },
      },
      operations: { a: { '200': { $ref: 'test:defs#/definitions/Node' } } },
    };
    const serializer = createResponseSerializers(tree).get('a')!(200)!;
    expect(serializer({ name: 'r', children: [{ name: 'c', children: [], extra: 1 }] })).toBe(
      '{"name":"r","children":[{"name":"c","children":[]}]}',
    );
  });

  it('is empty without schemas', () => {
    expect(createResponseSerializers(undefined).size).toBe(0);
  });
});

// Routers over an API definition with response schemas: the body goes out as the schema writes it.
const api: ApiDefinition = {
  operations: {
    createRegistration: {
      method: 'POST',
      path: '/sessions',
      auth: 'none',
      scopes: [],
      headers: [],
      hasBody: true,
      bodyRequired: true,
      mediaTypes: ['application/json'],
    },
  },
  responseSchemas: schemas,
};

const results: Record<string, unknown> = {
  extra: { status: 201, body: { registrationId: 'r-1', passwordHash: 'x', labels: { team: 'a', n: 2 } } },
  date: { status: 201, body: { registrationId: 'r-2', expiresAt: new Date('2026-05-06T07:08:09.000Z') } },
  missing: { status: 201, body: { expiresAt: '2026-05-06T07:08:09Z' } },
  'own-json-type': {
    status: 201,
    headers: { 'content-type': 'application/vnd.example+json' },
    body: { registrationId: 'r-3', internal: true },
  },
  'own-other-type': {
    status: 201,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: { registrationId: 'r-4', internal: true },
  },
  'error-info': { status: 409, body: { status: 409, code: 'ALREADY_EXISTS', message: 'm', trace: 'at x' } },
};

const handlers = {
  createRegistration: (input: { body: { mode: string } }) => results[input.body.mode],
};

describe.each([
  ['express', false],
  ['fastify', false],
  ['express', true],
  ['fastify', true],
] as const)(
  '%s router, validateResponses %s: documented bodies are written by their schema',
  (name, validateResponses) => {
    let target: Target;
    const logger = recordingLogger();
    beforeAll(async () => {
      const options = { logger, validateResponses };
      target =
        name === 'express'
          ? await expressTarget(createExpressRouter(express, api, handlers, options), '/v1')
          : await fastifyTarget(createFastifyPlugin(api, handlers, options), '/v1');
    });
    afterAll(() => target.close());
    const post = (mode: string) =>
      target.request({
        method: 'POST',
        path: '/v1/sessions',
        body: { mode },
        headers: { 'x-correlator': mode },
      });

    it('leaves out undocumented properties, keeps free-form maps whole', async () => {
      const response = await post('extra');
      expect(response.status).toBe(201);
      // Fastify's own JSON type (with its charset); Express sends the pipeline's as is.
      expect(response.headers['content-type']).toBe(
        name === 'fastify' ? 'application/json; charset=utf-8' : 'application/json',
      );
      expect(response.body).toEqual({ registrationId: 'r-1', labels: { team: 'a', n: 2 } });
    });

    it('writes a Date as its ISO string', async () => {
      expect((await post('date')).body).toEqual({
        registrationId: 'r-2',
        expiresAt: '2026-05-06T07:08:09.000Z',
      });
    });

    it('applies to documented error bodies too', async () => {
      const response = await post('error-info');
      expect(response).toMatchObject({
        status: 409,
        body: { status: 409, code: 'ALREADY_EXISTS', message: 'm' },
      });
      expect(response.body).not.toHaveProperty('trace');
    });

    it('keeps a JSON content type the handler chose, and writes its body by the schema', async () => {
      const response = await post('own-json-type');
      expect(response.headers['content-type']).toMatch(/^application\/vnd\.example\+json/);
      expect(response.body).toEqual({ registrationId: 'r-3' });
    });

    it('a body without a required property is 500 INTERNAL and logged, never sent', async () => {
      const response = await post('missing');
      expect(response).toMatchObject({
        status: 500,
        body: { status: 500, code: 'INTERNAL', message: 'Unknown server error. Typically a server bug.' },
      });
      expect(response.headers['x-correlator']).toBe('missing');
      expect(logger.entries).toContainEqual(
        expect.objectContaining({ details: expect.objectContaining({ correlator: 'missing' }) }),
      );
    });

    it('a non-JSON content type the handler chose bypasses the schema', async () => {
      const response = await post('own-other-type');
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      expect(response.body).toEqual({ registrationId: 'r-4', internal: true });
    });
  },
);
