import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveOperationId, pascalCase, serverBasePath } from '../src/parse/build-ir.js';
import { SpecError } from '../src/parse/errors.js';
import { parseDocument } from '../src/parse/index.js';
import { getAtPointer, joinPointer, splitPointer } from '../src/parse/pointer.js';
import { fixture, openapi30, tempDir } from './helpers.js';

/** Some cases parse the CAMARA upstream files beside the clone (../shared/camara); without them they are skipped. */
const HAVE_UPSTREAM = existsSync(new URL('../../../shared/camara/', import.meta.url));
if (!HAVE_UPSTREAM)
  console.warn(
    'parse.test.ts: ../shared/camara is absent; the cases built on the CAMARA upstream files are skipped',
  );

describe('JSON pointers', () => {
  it.each([
    ['', []],
    ['/a/b', ['a', 'b']],
    ['/paths/~1sessions~1{id}/get', ['paths', '/sessions/{id}', 'get']],
    ['/a~0b', ['a~b']],
  ])('split %j', (pointer, tokens) => {
    expect(splitPointer(pointer)).toEqual(tokens);
    expect(joinPointer('', ...tokens)).toBe(pointer);
  });

  it.each([
    ['/a/0/b', 1],
    ['/a/1', undefined],
    ['/a/x', undefined],
    ['/missing', undefined],
  ])('get %s', (pointer, expected) => {
    expect(getAtPointer({ a: [{ b: 1 }] }, pointer)).toBe(expected);
  });
});

describe('names', () => {
  it.each([
    ['get', '/sessions', 'getSessions'],
    ['put', '/sessions/{mediaSessionId}/status', 'putSessionsByMediaSessionIdStatus'],
    ['delete', '/', 'delete'],
  ] as const)('deriveOperationId(%s, %s)', (method, path, id) => {
    expect(deriveOperationId(method, path)).toBe(id);
  });

  it.each([
    ['webrtc-registration', 'WebrtcRegistration'],
    ['call_handling v2', 'CallHandlingV2'],
  ])('pascalCase(%s)', (input, output) => expect(pascalCase(input)).toBe(output));

  it.each([
    ['{apiRoot}/webrtc-registration/vwip', {}, '/webrtc-registration/vwip'],
    ['https://api.example.com/parcels/v1/', {}, '/parcels/v1'],
    ['/v{major}', { major: { default: '2' } }, '/v2'],
    ['https://api.example.com', {}, ''],
  ])('serverBasePath(%s)', (url, variables, basePath) => {
    expect(serverBasePath(url, variables)).toBe(basePath);
  });
});

describe('parseDocument: CAMARA documents', () => {
  // Our document; test/spec/ir-facts.test.ts compares the IR of all three with the upstream facts.
  it('keeps operations, parameters by location, bodies, responses with headers and scopes', async () => {
    const { ir } = await parseDocument(fixture('../../../spec/webrtc-registration.yaml'));
    expect(ir.openapiVersion).toBe('3.0');
    expect(ir.servers[0]?.basePath).toBe('/webrtc-registration/vwip');
    const create = ir.operations.find((op) => op.id === 'createRegistration')!;
    expect(create).toMatchObject({ method: 'post', path: '/sessions', idSource: 'document' });
    expect(create.parameters.header.map((p) => p.name)).toEqual(['x-correlator']);
    expect(create.requestBody?.content[0]?.mediaType).toBe('application/json');
    expect(create.requestBody?.content[0]?.schema).toEqual({
      $ref: '#/components/schemas/RegSessionRequest',
    });
    expect(create.responses.map((r) => r.status)).toEqual([
      '201',
      '400',
      '401',
      '403',
      '409',
      '429',
      '500',
      '503',
    ]);
    expect(create.responses[0]?.headers.map((h) => h.name)).toEqual(['x-correlator']);
    expect(create.security).toEqual([
      { schemes: [{ name: 'openId', scopes: ['webrtc-registration:sessions:create'] }] },
    ]);
    const list = ir.operations.find((op) => op.id === 'getRegistrationsByDeviceId')!;
    expect(list.parameters.query[0]).toMatchObject({
      name: 'deviceId',
      required: true,
      style: 'form',
      explode: true,
    });
    expect(list.responses[0]?.content[0]?.examples.map((e) => e.name)).toContain('SingleRegistration');
  });

  it.skipIf(!HAVE_UPSTREAM)(
    'turns a callback that reuses its parent operationId into a uniquely named callback',
    async () => {
      const { ir, warnings } = await parseDocument(fixture('../../../../shared/camara/webrtc-events.yaml'));
      expect(ir.callbacks).toHaveLength(1);
      expect(ir.callbacks[0]).toMatchObject({
        kind: 'callback',
        name: 'notifications',
        id: 'createNotificationChannelSubscriptionNotifications',
        idSource: 'derived',
        parentOperationId: 'createNotificationChannelSubscription',
        expression: '{$request.body#/sink}',
        method: 'post',
      });
      expect(ir.callbacks[0]?.requestBody?.content[0]?.mediaType).toBe('application/cloudevents+json');
      expect(ir.callbacks[0]?.responses.map((r) => r.status)).toEqual([
        '204',
        '400',
        '401',
        '403',
        '410',
        '429',
      ]);
      expect(warnings.join('\n')).toMatch(
        /operationId "createNotificationChannelSubscription" is already used/,
      );
    },
  );

  it.skipIf(!HAVE_UPSTREAM)(
    'reads a shared components file (no `openapi`, no paths) as a components library',
    async () => {
      const { ir, warnings } = await parseDocument(
        fixture('../../../../shared/camara/CAMARA_event_common.yaml'),
      );
      expect(ir.operations).toEqual([]);
      expect(Object.keys(ir.schemas)).toContain('CloudEvent');
      expect(warnings[0]).toMatch(/components library/);
    },
  );
});

describe('parseDocument: OpenAPI 3.1 webhooks', () => {
  it('makes every webhook a callback operation with a unique id', async () => {
    const { ir } = await parseDocument(fixture('webhooks-3.1.yaml'));
    expect(ir.openapiVersion).toBe('3.1');
    expect(ir.callbacks.map((c) => [c.kind, c.name, c.id, c.idSource])).toEqual([
      ['webhook', 'parcelDelivered', 'parcelDeliveredWebhook', 'derived'],
      ['webhook', 'parcelLost', 'onParcelLost', 'document'],
    ]);
    const get = ir.operations[0]!;
    expect(get.parameters.path.map((p) => p.name)).toEqual(['parcelId']); // from the path item
    expect(get.parameters.query[0]).toMatchObject({
      name: 'include',
      style: 'form',
      explode: true,
      required: false,
    });
  });
});

describe('parseDocument: external references', () => {
  it('pulls referenced components into the root document under their own names', async () => {
    const { ir, files } = await parseDocument(fixture('external/api.yaml'));
    expect(files).toHaveLength(3);
    // The local `Thing` keeps its name; the imported one gets a suffix; refs follow.
    expect(ir.schemas.Thing).toMatchObject({ type: 'string' });
    expect(ir.schemas.Thing2).toMatchObject({
      properties: { parent: { $ref: '#/components/schemas/Thing2' } },
    });
    expect(ir.schemas.ErrorInfo).toMatchObject({ required: ['status', 'code', 'message'] });
    const op = ir.operations[0]!;
    expect(op.parameters.header[0]?.schema).toEqual({ $ref: '#/components/schemas/XCorrelator' });
    expect(op.responses[0]?.content[0]?.schema).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/Thing2' },
    });
    expect(op.responses[1]?.content[0]?.schema).toEqual({ $ref: '#/components/schemas/ErrorInfo' });
  });
});

describe('parseDocument: bad input', async () => {
  const tmp = await tempDir();
  const cases: [string, string, string, RegExp][] = [
    [
      'invalid YAML',
      'bad.yaml',
      'openapi: 3.0.3\ninfo: [unclosed\n',
      /^bad\.yaml#: invalid YAML at line \d+/,
    ],
    ['duplicate keys', 'dup.yaml', 'openapi: 3.0.3\nopenapi: 3.1.0\n', /^dup\.yaml#: invalid YAML/],
    [
      'unresolvable internal $ref',
      'ref.yaml',
      openapi30(
        "  /a:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/Nope'",
      ),
      /^ref\.yaml#\/paths\/~1a\/get\/responses\/200\/\$ref: unresolvable \$ref "#\/components\/responses\/Nope"$/,
    ],
    [
      'missing external file',
      'ext.yaml',
      openapi30("  /a:\n    get:\n      responses:\n        '200':\n          $ref: 'gone.yaml#/x'"),
      /^ext\.yaml#\/paths\/~1a\/get\/responses\/200\/\$ref: unresolvable \$ref "gone\.yaml#\/x": file not found$/,
    ],
    [
      'remote $ref',
      'remote.yaml',
      openapi30(
        "  /a:\n    get:\n      responses:\n        '200':\n          $ref: 'https://example.com/x.yaml#/y'",
      ),
      /remote references are not fetched$/,
    ],
    [
      'Swagger 2.0',
      'swagger.yaml',
      "swagger: '2.0'\ninfo: { title: T, version: '1' }\npaths: {}\n",
      /^swagger\.yaml#\/swagger: unsupported: Swagger 2\.0/,
    ],
    [
      'OpenAPI 4',
      'v4.yaml',
      "openapi: 4.0.0\ninfo: { title: T, version: '1' }\npaths: {}\n",
      /^v4\.yaml#\/openapi: unsupported OpenAPI version "4\.0\.0"/,
    ],
    [
      'webhooks in 3.0',
      'wh.yaml',
      openapi30(' {}', 'webhooks:\n  a:\n    post:\n      responses: {}\n').replace(
        'paths:\n {}',
        'paths: {}',
      ),
      /^wh\.yaml#\/webhooks: unsupported: `webhooks` needs OpenAPI 3\.1$/,
    ],
    [
      'parameter in an unknown location',
      'loc.yaml',
      openapi30(
        '  /a:\n    get:\n      parameters:\n        - { name: q, in: body, schema: { type: string } }\n      responses: {}',
      ),
      /^loc\.yaml#\/paths\/~1a\/get\/parameters\/0\/in: unsupported parameter location "body"$/,
    ],
    [
      'invalid status code',
      'status.yaml',
      openapi30("  /a:\n    get:\n      responses:\n        '2000':\n          description: ok"),
      /^status\.yaml#\/paths\/~1a\/get\/responses\/2000: invalid response status "2000"$/,
    ],
  ];

  it.each(cases)('%s → one SpecError naming file and pointer', async (_, name, text, message) => {
    await tmp.write(name, text);
    const error = await parseDocument(name, tmp.dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecError);
    const relative = (error as SpecError).message;
    expect(relative).toMatch(message);
    expect(relative).not.toContain('\n');
  });

  it('a missing file', async () => {
    await expect(parseDocument('nope.yaml', tmp.dir)).rejects.toThrow(/^nope\.yaml#: file not found$/);
  });
});
