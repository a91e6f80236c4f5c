import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AJV_RUNTIME_MODULES as RUNTIME_MODULES } from '../../packages/runtime/src/ajv-runtime/index.js';
import { createResponseSerializers } from '../../packages/runtime/src/server/serializers.js';
import { describeErrors } from '../../packages/runtime/src/validation/errors.js';
import { formatCheckers } from '../../packages/runtime/src/validation/helpers.js';
import type { ResponseSchemas } from '../../packages/runtime/src/validation/index.js';
import { repoTempDir, typecheck } from '../../test/support/typecheck.js';
import { AJV_RUNTIME_MODULES, RUNTIME_FORMATS, rewriteStandalone } from '../src/emit/validators/compile.js';
import {
  applyExclusiveBounds,
  applyNullable,
  applyReadWrite,
  type ConvertContext,
  convertSchema,
  discriminatorOf,
} from '../src/emit/validators/schema.js';
import { generateFiles, writeFiles } from '../src/generate.js';
import { fixture } from './helpers.js';

const ctx: ConvertContext = {
  openapiVersion: '3.0',
  direction: 'request',
  refFor: (name) => `defs#/${name}`,
};

describe('schema conversion', () => {
  it.each([
    ['typed', { type: 'string', nullable: true }, { type: ['string', 'null'] }],
    [
      'enum',
      { type: 'string', enum: ['a'], nullable: true },
      { type: ['string', 'null'], enum: ['a', null] },
    ],
    [
      'untyped',
      { allOf: [{ $ref: 'x' }], nullable: true },
      { anyOf: [{ type: 'null' }, { allOf: [{ $ref: 'x' }] }] },
    ],
    ['not nullable', { type: 'string' }, { type: 'string' }],
  ])('nullable: %s', (_, schema, expected) => {
    const { nullable: _n, ...rest } = schema as Record<string, unknown>;
    expect(applyNullable(schema, rest)).toEqual(expected);
  });

  it.each([
    [{ minimum: 0, exclusiveMinimum: true }, { exclusiveMinimum: 0 }],
    [{ maximum: 9, exclusiveMaximum: true }, { exclusiveMaximum: 9 }],
    [{ minimum: 0, exclusiveMinimum: false }, { minimum: 0 }],
  ])('exclusive bounds %j', (schema, expected) => {
    expect(applyExclusiveBounds(schema)).toEqual(expected);
  });

  const rw = {
    type: 'object',
    required: ['id', 'secret', 'name'],
    properties: {
      id: { type: 'string', readOnly: true },
      secret: { type: 'string', writeOnly: true },
      name: {},
    },
  };
  it.each([
    [
      'request',
      {
        ...rw,
        required: ['secret', 'name'],
        properties: { ...rw.properties, id: { not: {}, description: 'readOnly' } },
      },
    ],
    ['response', { ...rw, required: ['id', 'name'] }],
  ] as const)('readOnly/writeOnly in a %s', (direction, expected) => {
    expect(applyReadWrite(rw, direction)).toEqual(expected);
  });

  it.each([
    [
      'explicit mapping',
      { oneOf: [], discriminator: { propertyName: 'k', mapping: { a: '#/components/schemas/A' } } },
      { a: 'A' },
    ],
    [
      'implicit mapping from oneOf',
      {
        oneOf: [{ $ref: '#/components/schemas/A' }, { $ref: '#/components/schemas/B' }],
        discriminator: { propertyName: 'k' },
      },
      { A: 'A', B: 'B' },
    ],
    [
      'explicit entries replace the implicit name of their branch',
      {
        oneOf: [{ $ref: '#/components/schemas/A' }, { $ref: '#/components/schemas/B' }],
        discriminator: { propertyName: 'k', mapping: { a: '#/components/schemas/A' } },
      },
      { a: 'A', B: 'B' },
    ],
  ])('discriminator: %s', (_, schema, mapping) => {
    expect(discriminatorOf(schema)?.mapping).toEqual(mapping);
  });

  it.each([
    ['component $ref', { $ref: '#/components/schemas/A' }, { $ref: 'defs#/A' }],
    [
      '3.0 ignores $ref siblings but honours nullable',
      { $ref: '#/components/schemas/A', nullable: true, description: 'd' },
      { anyOf: [{ type: 'null' }, { $ref: 'defs#/A' }] },
    ],
    [
      'annotations and x- extensions dropped',
      { type: 'string', description: 'd', example: 'e', 'x-a': 1 },
      { type: 'string' },
    ],
    [
      'oneOf + discriminator becomes dispatch',
      {
        oneOf: [{ $ref: '#/components/schemas/A' }],
        discriminator: { propertyName: 'k', mapping: { a: '#/components/schemas/A' } },
      },
      {
        required: ['k'],
        properties: { k: { enum: ['a'] } },
        allOf: [{ if: { properties: { k: { const: 'a' } }, required: ['k'] }, then: { $ref: 'defs#/A' } }],
      },
    ],
  ])('convertSchema: %s', (_, schema, expected) => {
    expect(convertSchema(schema, ctx)).toEqual(expected);
  });

  it('3.1 applies $ref siblings', () => {
    expect(
      convertSchema({ $ref: '#/components/schemas/A', maxLength: 3 }, { ...ctx, openapiVersion: '3.1' }),
    ).toEqual({
      allOf: [{ $ref: 'defs#/A' }, { maxLength: 3 }],
    });
  });

  it.each([
    [
      'the code-point counter becomes the ES helper, and maxLength counts only past the UTF-16 length',
      'const func2 = require("ajv/dist/runtime/ucs2length").default;if(func2(data0) > 256){}if(func2(data) < 2){}',
      'const func2 = ucs2length;if((data0.length > 256 && func2(data0) > 256)){}if(func2(data) < 2){}',
      ['ucs2length'],
    ],
    [
      'deep equality becomes the ES helper',
      '"use strict";export const v0 = validate1;const f = require("ajv/dist/runtime/equal").default;',
      'const v0 = validate1;const f = deepEqual;',
      ['deepEqual'],
    ],
    [
      'a regular-expression format becomes its expression, taken from ajv-formats',
      'const formats0 = require("ajv-formats/dist/formats").fullFormats.uuid;',
      'const formats0 = new RegExp("^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", "i");',
      [],
    ],
    [
      'a format checked by code becomes the runtime checker (quoted or dotted name)',
      'const a = require("ajv-formats/dist/formats").fullFormats["date-time"];const b = require("ajv-formats/dist/formats").fullFormats.int32;',
      'const a = formatCheckers["date-time"];const b = formatCheckers["int32"];',
      ['formatCheckers'],
    ],
    [
      'anything else falls back to the Ajv modules map',
      'const u = require("ajv/dist/runtime/uri").default;const f = require("ajv-formats/dist/formats").fullFormats.unheard;',
      'const u = ajvRuntime["ajv/dist/runtime/uri"].default;const f = ajvRuntime["ajv-formats/dist/formats"].fullFormats.unheard;',
      ['ajvRuntime'],
    ],
  ])('standalone output: %s', (_, input, code, imports) => {
    const rewritten = rewriteStandalone(input);
    expect(rewritten.code).toBe(code);
    expect([...rewritten.imports].sort()).toEqual(imports);
  });

  it('standalone output: an unknown module is refused', () => {
    expect(() => rewriteStandalone('require("fs")')).toThrow(/unsupported Ajv runtime module "fs"/);
  });

  it('the formats the emitter hands to the runtime are exactly the ones it checks with code', () => {
    expect([...RUNTIME_FORMATS].sort()).toEqual(Object.keys(formatCheckers).sort());
  });

  it('validators generated for our specs load no CommonJS: only ES modules of the runtime', () => {
    const root = join(import.meta.dirname, '../..');
    const bareImports = (file: string) =>
      [...readFileSync(file, 'utf8').matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gm)]
        .map((m) => m[1]!)
        .filter((specifier) => !specifier.startsWith('.'));
    const generated = [
      'packages/webrtc-api/src/gen',
      'packages/webrtc-client/src/gen',
      'packages/webrtc-server/src/gen',
    ].flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((name) => name.endsWith('.validators.gen.ts'))
        .map((name) => join(root, dir, name)),
    );
    // One home: the client and server packages import them from @telegate/webrtc-api.
    expect(generated).toHaveLength(3);
    for (const file of generated) expect(bareImports(file), file).toEqual(['@telegate/runtime/validation']);
    // …and that runtime entry point imports no package either.
    const validation = join(root, 'packages/runtime/src/validation');
    for (const name of readdirSync(validation)) {
      const imports = [...readFileSync(join(validation, name), 'utf8').matchAll(/from\s+'([^']+)'/g)].map(
        (m) => m[1]!,
      );
      expect(
        imports.filter((specifier) => !specifier.startsWith('./')),
        name,
      ).toEqual([]);
    }
  });

  it('the modules the emitter allows are exactly the ones the runtime supplies', () => {
    expect([...AJV_RUNTIME_MODULES].sort()).toEqual([...RUNTIME_MODULES].sort());
  });
});

type Validators = {
  requestParsers: Record<string, (input: unknown) => { ok: boolean; value?: unknown; error?: unknown }>;
  requestValidators: Record<string, (input: unknown) => unknown>;
  requestBodyValidators: Record<string, (body: unknown) => string[] | null>;
  responseValidators: Record<
    string,
    (status: number, body: unknown, headers?: Record<string, unknown>) => string[] | null
  >;
  callbackValidators: Record<string, (payload: unknown) => string[] | null>;
};

async function loadValidators(spec: string, name: string): Promise<{ v: Validators; files: string[] }> {
  const out = await repoTempDir(`validators-${name}-`);
  const { files } = await generateFiles({ specs: [spec], out, emit: ['validators'] });
  await writeFiles(out, files);
  const file = files.find((f) => f.path.endsWith('.validators.gen.ts'))!;
  expect(file.contents).not.toMatch(/new Ajv|\.compile\(|require\(/);
  return {
    v: (await import(join(out, file.path))) as Validators,
    files: files.map((f) => join(out, f.path)),
  };
}

describe('generated validators: every construct', () => {
  let v: Validators;
  let files: string[];
  beforeAll(async () => {
    ({ v, files } = await loadValidators(fixture('validation.yaml'), 'fixture'));
  });

  it('compiles under the strict settings', () => {
    expect(typecheck(files)).toEqual([]);
  });

  const itemId = '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10';
  const body = { name: 'lamp', phone: '+12345678', createdAt: '2026-01-02T03:04:05+01:00' };
  const ok = { params: { itemId }, body };

  it.each([
    ['a valid request', ok, null],
    ['path format uuid', { ...ok, params: { itemId: 'x' } }, 'path/itemId must match format "uuid"'],
    ['required body', { params: { itemId } }, 'body is required'],
    [
      'allOf: a field of the first member',
      { ...ok, body: { ...body, name: undefined } },
      'body/name is required',
    ],
    ['allOf: a field of the second member', { ...ok, body: { name: 'a' } }, 'body/phone is required'],
    [
      'maxLength',
      { ...ok, body: { ...body, name: 'x'.repeat(11) } },
      'body/name must NOT have more than 10 characters',
    ],
    [
      'maxLength counts code points: 10 emoji (20 UTF-16 units) fit',
      { ...ok, body: { ...body, name: '😀'.repeat(10) } },
      null,
    ],
    [
      'maxLength counts code points: 11 emoji do not',
      { ...ok, body: { ...body, name: '😀'.repeat(11) } },
      'body/name must NOT have more than 10 characters',
    ],
    [
      'PhoneNumber pattern',
      { ...ok, body: { ...body, phone: '0123' } },
      'body/phone must match pattern "^\\+[1-9][0-9]{4,14}$"',
    ],
    [
      'date-time needs an offset',
      { ...ok, body: { ...body, createdAt: '2026-01-02T03:04:05' } },
      'body/createdAt must match format "date-time"',
    ],
    ['date-time with Z', { ...ok, body: { ...body, createdAt: '2026-01-02T03:04:05Z' } }, null],
    ['uri', { ...ok, body: { ...body, homepage: 'not a uri' } }, 'body/homepage must match format "uri"'],
    ['int32 range', { ...ok, body: { ...body, count: 2 ** 31 } }, 'body/count must match format "int32"'],
    ['nullable accepts null', { ...ok, body: { ...body, note: null } }, null],
    ['readOnly refused in a request', { ...ok, body: { ...body, id: 'x' } }, 'body/id is not allowed'],
    ['writeOnly accepted in a request', { ...ok, body: { ...body, secret: 's' } }, null],
    ['query integer coerced', { ...ok, query: { limit: '5' } }, null],
    ['query integer range', { ...ok, query: { limit: '500' } }, 'query/limit must be <= 100'],
    ['query integer not a number', { ...ok, query: { limit: 'five' } }, 'query/limit must be integer'],
    ['query boolean', { ...ok, query: { verbose: 'yes' } }, 'query/verbose must be boolean'],
    ['query array, explode false', { ...ok, query: { tags: 'a,b' } }, null],
    ['query array item enum', { ...ok, query: { tags: 'a,z' } }, 'query/tags/1 must be one of "a", "b", "c"'],
    [
      'query array maxItems',
      { ...ok, query: { tags: 'a,b,c,a' } },
      'query/tags must NOT have more than 3 items',
    ],
    ['query array, explode (repeated keys)', { ...ok, query: { ids: ['1', '2'] } }, null],
    ['query array items integer', { ...ok, query: { ids: ['1', 'x'] } }, 'query/ids/1 must be integer'],
    [
      'header names are case-insensitive',
      { ...ok, headers: { 'x-correlator': 'bad value' } },
      'header/x-correlator must match pattern "^[a-zA-Z0-9-_:;.\\/<>{}]{0,256}$"',
    ],
    ['header integer coerced', { ...ok, headers: { 'X-Retry': '3' } }, null],
  ])('putItem: %s', (_, input, message) => {
    const error = v.requestValidators.putItem!(input);
    expect(error).toEqual(message === null ? null : { status: 400, code: 'INVALID_ARGUMENT', message });
  });

  it('returns converted copies and never mutates the input', () => {
    const input = {
      params: { itemId },
      query: { limit: '5', tags: 'a,b', ids: ['1'] },
      headers: { 'X-Retry': '2', Other: 'x' },
      body,
    };
    const snapshot = structuredClone(input);
    const result = v.requestParsers.putItem!(input);
    expect(result).toEqual({
      ok: true,
      value: {
        params: { itemId },
        query: { limit: 5, tags: ['a', 'b'], ids: [1] },
        headers: { 'x-retry': 2 },
        body,
      },
    });
    expect(input).toEqual(snapshot);
  });

  it.each([
    ['oneOf + discriminator: circle', { kind: 'circle', radius: 1 }, null],
    [
      'oneOf + discriminator: the mapped branch decides',
      { kind: 'circle', side: 1 },
      'body/radius is required',
    ],
    [
      'oneOf + discriminator: unknown value',
      { kind: 'hexagon' },
      'body/kind must be one of "circle", "square"',
    ],
    ['oneOf + discriminator: missing property', { radius: 1 }, 'body/kind is required'],
  ])('postShape: %s', (_, shape, message) => {
    const error = v.requestValidators.postShape!({ body: shape });
    expect(error).toEqual(message === null ? null : { status: 400, code: 'INVALID_ARGUMENT', message });
  });

  it.each([
    ['inheritance discriminator: cat', 201, { petType: 'cat', meows: true }, null],
    ['inheritance discriminator: dog without barks', 201, { petType: 'dog' }, ['body/barks is required']],
    ['unmapped value passes the base', 201, { petType: 'fish' }, null],
    ['200 with headers', 200, { id: 'i', name: 'n' }, null],
    ['writeOnly not required in a response', 200, { id: 'i', name: 'n' }, null],
    ['additionalProperties: false', 200, { id: 'i', name: 'n', extra: 1 }, ['body/extra is not allowed']],
    ['3.0 exclusiveMinimum', 200, { id: 'i', name: 'n', ratio: 0 }, ['body/ratio must be > 0']],
    ['204 has no body', 204, { id: 'i' }, ['status 204 documents no body']],
    ['4XX range', 404, { status: 404, code: 'NOT_FOUND', message: 'm' }, null],
    ['4XX range, wrong body', 409, { status: 409 }, ['body/code is required', 'body/message is required']],
    ['undocumented status', 500, {}, ['status 500 is not documented']],
  ] as const)('responses: %s', (_, status, responseBody, violations) => {
    const op = status === 201 ? 'postShape' : 'putItem';
    const headers = { 'X-Rate-Remaining': '7' };
    expect(v.responseValidators[op]!(status, responseBody, headers)).toEqual(violations);
  });

  it('response headers: required and typed', () => {
    expect(v.responseValidators.putItem!(200, { id: 'i', name: 'n' }, {})).toEqual([
      'header/x-rate-remaining is required',
    ]);
    expect(v.responseValidators.putItem!(200, { id: 'i', name: 'n' }, { 'x-rate-remaining': '-1' })).toEqual([
      'header/x-rate-remaining must be >= 0',
    ]);
  });

  it('request body validators report every violation', () => {
    expect(v.requestBodyValidators.putItem!({ phone: 1 })).toEqual([
      'name is required',
      'phone must be string',
    ]);
  });
});

describe('generated validators: OpenAPI 3.1', () => {
  it('type arrays and webhook payloads', async () => {
    const { v, files } = await loadValidators(fixture('webhooks-3.1.yaml'), 'w31');
    expect(typecheck(files)).toEqual([]);
    const payload = { parcelId: '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10', deliveredAt: '2026-01-01T00:00:00Z' };
    expect(v.callbackValidators.parcelDeliveredWebhook!({ ...payload, signature: null })).toBeNull();
    expect(v.callbackValidators.parcelDeliveredWebhook!({ ...payload, signature: 3 })).toEqual([
      'signature must be string,null',
    ]);
    expect(
      v.responseValidators.getParcel!(200, { id: payload.parcelId, status: 'lost', owner: null }),
    ).toBeNull();
  });
});

describe('describeErrors', () => {
  const err = (
    instancePath: string,
    keyword: string,
    params: Record<string, unknown> = {},
    message?: string,
  ) => ({
    instancePath,
    keyword,
    params,
    ...(message ? { message } : {}),
  });
  it.each([
    [
      'a summary alone is kept',
      [err('/a', 'oneOf', {}, 'must match exactly one schema in oneOf')],
      ['a must match exactly one schema in oneOf'],
    ],
    [
      'if/then summaries are dropped when the cause is known',
      [err('/a', 'required', { missingProperty: 'b' }), err('/a', 'if', {}, 'must match "then" schema')],
      ['a/b is required'],
    ],
    [
      "a failed oneOf lists its alternatives' errors instead of naming one branch",
      [
        err('/c', 'required', { missingProperty: 'radius' }),
        err('/c', 'required', { missingProperty: 'orientation' }),
        err('/c', 'oneOf', {}, 'must match exactly one schema in oneOf'),
        err('/d', 'type', {}, 'must be string'),
      ],
      [
        'c matches none of its alternatives: c/radius is required; or c/orientation is required',
        'd must be string',
      ],
    ],
  ])('%s', (_, errors, expected) => {
    expect(describeErrors(errors)).toEqual(expected);
  });
});

describe('response schemas for the routers’ serializers', () => {
  const generate = async (emit: string[]) => {
    const out = await repoTempDir('response-schemas-');
    const { files } = await generateFiles({ specs: [fixture('validation.yaml')], out, emit });
    await writeFiles(out, files);
    const file = files.find((f) => f.path.endsWith('.validators.gen.ts'))!;
    return { file, module: (await import(join(out, file.path))) as { responseSchemas?: ResponseSchemas } };
  };

  it('come with the validators alone, for routers generated by another run that import them', async () => {
    const alone = await generate(['validators']);
    const withRouter = await generate(['validators', 'express']);
    expect(alone.module.responseSchemas).toEqual(withRouter.module.responseSchemas);
    expect(alone.file.contents).toBe(withRouter.file.contents);
  });

  it('name the JSON body of every documented response, with only the schemas those reach', async () => {
    const { module } = await generate(['validators', 'express']);
    const schemas = module.responseSchemas!;
    // readOnly/writeOnly in the document: the response direction's own definitions.
    expect(schemas.id).toBe('telegate:response');
    const ref = (name: string) => ({ $ref: `telegate:response#/definitions/${name}` });
    expect(schemas.operations).toEqual({
      putItem: { '200': ref('Item'), '4XX': ref('ErrorInfo') },
      postShape: { '201': ref('Pet') },
    });
    expect(Object.keys(schemas.definitions).sort()).toEqual(
      ['Cat', 'Dog', 'ErrorInfo', 'Item', 'Pet', 'Pet__base'].sort(),
    );
  });

  it('a body schema fast-json-stringify cannot compile is a generation warning, and written with JSON.stringify', async () => {
    const out = await repoTempDir('response-schemas-warning-');
    const spec = join(out, 'odd.json');
    const tagged = (tag: string) => ({
      type: 'object',
      properties: { tag: { type: 'string', enum: [tag] } },
    });
    await writeFile(
      spec,
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 'Odd', version: '1' },
        paths: {
          '/odd': {
            get: {
              operationId: 'getOdd',
              responses: {
                '200': {
                  description: 'two tags at once',
                  content: { 'application/json': { schema: { allOf: [tagged('a'), tagged('b')] } } },
                },
                '201': {
                  description: 'fine',
                  content: {
                    'application/json': {
                      schema: { type: 'object', properties: { n: { type: 'integer' } } },
                    },
                  },
                },
              },
            },
          },
        },
      }),
    );
    const { files, warnings } = await generateFiles({ specs: [spec], out, emit: ['validators', 'fastify'] });
    expect(warnings).toEqual([
      expect.stringMatching(
        /odd\.json: getOdd 200: fast-json-stringify cannot compile the response body schema \(.+\); the routers write this body with JSON\.stringify/,
      ),
    ]);
    await writeFiles(out, files);
    const file = files.find((f) => f.path.endsWith('.validators.gen.ts'))!;
    const { responseSchemas } = (await import(join(out, file.path))) as { responseSchemas: ResponseSchemas };
    const serializers = createResponseSerializers(responseSchemas);
    expect(serializers.get('getOdd')!(200)).toBeUndefined();
    expect(serializers.get('getOdd')!(201)!({ n: 1, extra: true })).toBe('{"n":1}');
  });

  it('serialize by the response direction: discriminated subtypes keep their fields, writeOnly is optional', async () => {
    const { module } = await generate(['validators', 'fastify']);
    const serializers = createResponseSerializers(module.responseSchemas);
    const pet = serializers.get('postShape')!(201)!;
    expect(JSON.parse(pet({ petType: 'cat', meows: true, barks: false, extra: 1 }))).toEqual({
      petType: 'cat',
      meows: true,
    });
    expect(JSON.parse(pet({ petType: 'dog', barks: true }))).toEqual({ petType: 'dog', barks: true });
    const item = serializers.get('putItem')!(200)!;
    expect(JSON.parse(item({ id: 'i-1', name: 'lamp', ratio: 0.5 }))).toEqual({
      id: 'i-1',
      name: 'lamp',
      ratio: 0.5,
    });
    const error = serializers.get('putItem')!(404)!;
    expect(JSON.parse(error({ status: 404, code: 'NOT_FOUND', message: 'gone', stack: 'x' }))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
      message: 'gone',
    });
  });
});
