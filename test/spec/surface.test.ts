import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_UPSTREAM_DIR,
  factsOf,
  factsText,
  readFacts,
  surfaceOfFacts,
  UPSTREAM_DOCUMENTS,
} from '../../scripts/upstream-facts.js';
import type { Json, JsonObject } from './surface.js';
import {
  collectRefs,
  describeDiff,
  diffSurfaces,
  extractSurface,
  isObject,
  parseDocument,
  parseErrata,
  resolvePointer,
  surfaceOfFile,
  surfaceOfYaml,
} from './surface.js';

const SPEC_DIR = new URL('../../spec/', import.meta.url);
/** Upstream is compared through its facts in spec/upstream; the files themselves are only read to check those. */
const HAVE_UPSTREAM = existsSync(DEFAULT_UPSTREAM_DIR);
if (!HAVE_UPSTREAM)
  console.warn(
    'surface.test.ts: ../shared/camara is absent; the check that spec/upstream is current is skipped',
  );
const DOCUMENTS = UPSTREAM_DOCUMENTS;

const ours = (doc: string) => new URL(`${doc}.yaml`, SPEC_DIR);
const readDoc = (url: URL): JsonObject => parseDocument(readFileSync(url, 'utf8'));
const errata = parseErrata(readFileSync(new URL('ERRATA.md', SPEC_DIR), 'utf8'));

/** Walks to a nested object, failing the test if the path does not exist. */
function at(root: JsonObject, ...keys: string[]): JsonObject {
  let node: Json = root;
  for (const key of keys) {
    if (!isObject(node) || !isObject(node[key])) throw new Error(`no object at ${keys.join(' > ')}`);
    node = node[key];
  }
  return node as JsonObject;
}

describe('spec documents against the CAMARA upstream facts (spec/upstream)', () => {
  it('ERRATA.md only names our three documents', () => {
    expect([...errata.keys()].filter((d) => !(DOCUMENTS as readonly string[]).includes(d))).toEqual([]);
  });

  describe.each(DOCUMENTS)('%s', (doc) => {
    const oursSurface = surfaceOfFile(ours(doc));
    const facts = readFacts(doc);
    const upstreamSurface = surfaceOfFacts(facts);
    const listed = errata.get(doc) ?? new Set<string>();

    it('differs from upstream exactly by the surface keys listed in ERRATA.md', () => {
      const differences = diffSurfaces(oursSurface, upstreamSurface);
      const unexpected = differences.filter((k) => !listed.has(k));
      const stale = [...listed].filter((k) => !differences.includes(k));
      expect({
        unexpected: describeDiff(unexpected, oursSurface, upstreamSurface),
        stale,
      }).toEqual({ unexpected: [], stale: [] });
    });

    it('keeps the info metadata of upstream', () => {
      const a = readDoc(ours(doc));
      const info = at(a, 'info');
      expect(a.openapi).toBe(facts.openapi);
      expect(a.openapi).toBe('3.0.3');
      expect(info.version).toBe('wip');
      expect(info.license).toEqual(facts.info.license);
      expect(info['x-camara-commonalities']).toEqual(facts.info['x-camara-commonalities']);
    });

    it('has unique operationIds (callbacks included)', () => {
      const ids = [...oursSurface].filter(([k]) => k.endsWith(':operationId')).map(([, v]) => v);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    });

    it('is self-contained and every $ref resolves', () => {
      const root = readDoc(ours(doc));
      const broken = collectRefs(root)
        .filter(({ ref }) => !ref.startsWith('#') || resolvePointer(root, ref.slice(1)) === undefined)
        .map(({ at: where, ref }) => `${where}: ${ref}`);
      expect(broken).toEqual([]);
    });

    it('has patterns that compile as ECMAScript regular expressions with the u flag', () => {
      const bad: string[] = [];
      for (const [key, value] of oursSurface) {
        if (!key.endsWith(':pattern')) continue;
        try {
          new RegExp(JSON.parse(value) as string, 'u');
        } catch (error) {
          bad.push(`${key}: ${String(error)}`);
        }
      }
      expect(bad).toEqual([]);
    });
  });
});

describe.skipIf(!HAVE_UPSTREAM)('the upstream files (needs ../shared/camara; skipped without it)', () => {
  it('give the facts in spec/upstream: npm run upstream:facts would write them as they are', () => {
    for (const doc of DOCUMENTS) {
      expect(readFileSync(new URL(`upstream/${doc}.json`, SPEC_DIR), 'utf8'), doc).toBe(
        factsText(factsOf(DEFAULT_UPSTREAM_DIR, doc)),
      );
    }
  });

  it('loads upstream common files, following references into other files', () => {
    const surface = surfaceOfFile(join(DEFAULT_UPSTREAM_DIR, 'CAMARA_event_common.yaml'));
    expect(surface.get('schema:CloudEvent/properties/time:$ref')).toBe('"ref:DateTime"');
    expect(surface.get('schema:DateTime:format')).toBe('"date-time"');
  });
});

const BASE = `
openapi: 3.0.3
info: { title: Pets, version: '1', description: A pet store }
servers:
  - url: '{apiRoot}/pets/v1'
    variables: { apiRoot: { default: http://localhost } }
tags: [{ name: pets, description: Pets }]
paths:
  /pets:
    get:
      tags: [pets]
      summary: List pets
      description: Lists all pets.
      operationId: listPets
      parameters:
        - $ref: '#/components/parameters/Limit'
        - name: X-Trace
          in: header
          schema: { type: string }
      security:
        - openId: [pets:read]
      responses:
        '200':
          description: The pets.
          headers:
            X-Correlator: { schema: { type: string, maxLength: 10 } }
          content:
            application/json:
              schema: { type: array, items: { $ref: '#/components/schemas/Pet' } }
              examples:
                one: { summary: One pet, value: [{ name: rex, kind: dog }] }
        '400':
          $ref: '#/components/responses/BadRequest'
    post:
      operationId: createPet
      security:
        - openId: [pets:write]
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Pet' }
      callbacks:
        created:
          '{$request.body#/callbackUrl}':
            post:
              operationId: petCreated
              requestBody:
                content:
                  application/json:
                    schema: { $ref: '#/components/schemas/Pet' }
              responses:
                '204': { description: Received. }
      responses:
        '201': { description: Created. }
  /pets/{id}:
    delete:
      operationId: deletePet
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
      responses:
        '204': { description: Deleted. }
components:
  securitySchemes:
    openId:
      type: openIdConnect
      description: OIDC.
      openIdConnectUrl: https://example.com/.well-known/openid-configuration
  parameters:
    Limit:
      name: limit
      in: query
      description: Page size.
      schema: { type: integer, minimum: 1, maximum: 100 }
  responses:
    BadRequest:
      description: Bad request.
      content:
        application/json:
          schema:
            allOf:
              - $ref: '#/components/schemas/ErrorInfo'
              - type: object
                properties:
                  code: { enum: [INVALID_ARGUMENT, OUT_OF_RANGE] }
  schemas:
    Pet:
      description: A pet.
      type: object
      required: [name, kind]
      properties:
        name: { type: string, pattern: '^[a-z]+$', description: Its name, example: rex }
        kind: { type: string, enum: [dog, cat] }
        callbackUrl: { type: string, format: uri }
    ErrorInfo:
      type: object
      required: [code]
      properties:
        code: { type: string }
`;

type Mutation = (doc: JsonObject) => void;

const surfaceCases: { name: string; mutate: Mutation; expected: string[] }[] = [
  {
    name: 'a description, summary or title change gives no difference',
    mutate: (d) => {
      at(d, 'info').description = 'Something else entirely.';
      at(d, 'info').title = 'Other';
      at(d, 'paths', '/pets', 'get').summary = 'Other summary';
      at(d, 'paths', '/pets', 'get').description = 'Other description';
      at(d, 'components', 'schemas', 'Pet', 'properties', 'name').description = 'Other';
      at(d, 'components', 'responses', 'BadRequest').description = 'Other';
      at(d, 'components', 'securitySchemes', 'openId').description = 'Other';
    },
    expected: [],
  },
  {
    name: 'examples, tags, externalDocs and x- extensions give no difference',
    mutate: (d) => {
      at(d, 'components', 'schemas', 'Pet', 'properties', 'name').example = 'fido';
      at(d, 'paths', '/pets', 'get', 'responses', '200', 'content', 'application/json').examples = {};
      at(d, 'paths', '/pets', 'get').tags = ['other'];
      d.tags = [];
      d.externalDocs = { url: 'https://example.com' };
      at(d, 'components', 'schemas', 'Pet')['x-internal'] = true;
    },
    expected: [],
  },
  {
    name: 'reordering enum and required values gives no difference',
    mutate: (d) => {
      at(d, 'components', 'schemas', 'Pet', 'properties', 'kind').enum = ['cat', 'dog'];
      at(d, 'components', 'schemas', 'Pet').required = ['kind', 'name'];
    },
    expected: [],
  },
  {
    name: 'header names are case-insensitive and default parameter styles are implicit',
    mutate: (d) => {
      const responseHeaders = at(d, 'paths', '/pets', 'get', 'responses', '200', 'headers');
      responseHeaders['x-correlator'] = responseHeaders['X-Correlator']!;
      delete responseHeaders['X-Correlator'];
      at(d, 'components', 'parameters', 'Limit').style = 'form';
      at(d, 'components', 'parameters', 'Limit').explode = true;
    },
    expected: [],
  },
  {
    name: 'a changed enum gives its key',
    mutate: (d) => {
      at(d, 'components', 'schemas', 'Pet', 'properties', 'kind').enum = ['dog', 'cat', 'bird'];
    },
    expected: ['schema:Pet/properties/kind:enum'],
  },
  {
    name: 'a changed pattern gives its key',
    mutate: (d) => {
      at(d, 'components', 'schemas', 'Pet', 'properties', 'name').pattern = '^[a-z]{1,8}$';
    },
    expected: ['schema:Pet/properties/name:pattern'],
  },
  {
    name: 'a changed required list gives its key',
    mutate: (d) => {
      at(d, 'components', 'schemas', 'Pet').required = ['name'];
    },
    expected: ['schema:Pet:required'],
  },
  {
    name: 'a changed error code enum of a referenced response gives its key',
    mutate: (d) => {
      const schema = at(d, 'components', 'responses', 'BadRequest', 'content', 'application/json', 'schema');
      const allOf = schema.allOf as JsonObject[];
      at(allOf[1]!, 'properties', 'code').enum = ['INVALID_ARGUMENT'];
    },
    expected: ['path:/pets/get/responses/400/content/application/json/schema/allOf/1/properties/code:enum'],
  },
  {
    name: 'a changed status code gives the keys of both statuses',
    mutate: (d) => {
      const responses = at(d, 'paths', '/pets/{id}', 'delete', 'responses');
      responses['202'] = responses['204']!;
      delete responses['204'];
    },
    expected: [
      'path:/pets/{id}/delete/responses/202:present',
      'path:/pets/{id}/delete/responses/204:present',
    ],
  },
  {
    name: 'a changed scope gives its key',
    mutate: (d) => {
      at(d, 'paths', '/pets', 'get').security = [{ openId: ['pets:list'] }];
    },
    expected: ['path:/pets/get/security/openId:scopes'],
  },
  {
    name: 'a changed parameter requiredness gives its key',
    mutate: (d) => {
      at(d, 'components', 'parameters', 'Limit').required = true;
    },
    expected: ['path:/pets/get/parameters/query/limit:required'],
  },
  {
    name: 'a changed callback operationId gives its key under the parent operation',
    mutate: (d) => {
      at(
        d,
        'paths',
        '/pets',
        'post',
        'callbacks',
        'created',
        '{$request.body#/callbackUrl}',
        'post',
      ).operationId = 'onPetCreated';
    },
    expected: ['callback:createPet/created/{$request.body#/callbackUrl}/post:operationId'],
  },
  {
    name: 'a changed media type gives the keys of both media types',
    mutate: (d) => {
      const content = at(d, 'paths', '/pets', 'post', 'requestBody', 'content');
      content['application/merge-patch+json'] = content['application/json']!;
      delete content['application/json'];
    },
    expected: [
      'path:/pets/post/requestBody/content/application/json/schema:$ref',
      'path:/pets/post/requestBody/content/application/json:present',
      'path:/pets/post/requestBody/content/application/merge-patch+json/schema:$ref',
      'path:/pets/post/requestBody/content/application/merge-patch+json:present',
    ],
  },
  {
    name: 'inlining a referenced response gives no difference',
    mutate: (d) => {
      const responses = at(d, 'paths', '/pets', 'get', 'responses');
      responses['400'] = structuredClone(at(d, 'components', 'responses', 'BadRequest'));
      delete at(d, 'components', 'responses').BadRequest;
    },
    expected: [],
  },
  {
    name: 'moving an inline parameter into components gives no difference',
    mutate: (d) => {
      const op = at(d, 'paths', '/pets/{id}', 'delete');
      const params = op.parameters as JsonObject[];
      at(d, 'components', 'parameters').PetId = params[0]!;
      op.parameters = [{ $ref: '#/components/parameters/PetId' }];
    },
    expected: [],
  },
  {
    name: 'replacing a named schema reference by an inline copy is a difference',
    mutate: (d) => {
      const media = at(d, 'paths', '/pets', 'get', 'responses', '200', 'content', 'application/json');
      at(media, 'schema').items = { type: 'object' };
    },
    expected: [
      'path:/pets/get/responses/200/content/application/json/schema/items:$ref',
      'path:/pets/get/responses/200/content/application/json/schema/items:type',
    ],
  },
];

describe('surface extractor', () => {
  const base = parseDocument(BASE);
  const baseSurface = extractSurface(base);

  it('flattens the base document into the expected kinds of keys', () => {
    expect(baseSurface.get('server:0:url')).toBe('"{apiRoot}/pets/v1"');
    expect(baseSurface.get('path:/pets/get:operationId')).toBe('"listPets"');
    expect(baseSurface.get('path:/pets/get/parameters/query/limit/schema:maximum')).toBe('100');
    expect(baseSurface.get('path:/pets/get/parameters/header/x-trace:required')).toBe('false');
    expect(baseSurface.get('path:/pets/get/responses/200/headers/x-correlator/schema:maxLength')).toBe('10');
    expect(baseSurface.get('path:/pets/get/security/openId:scopes')).toBe('["pets:read"]');
    expect(baseSurface.get('path:/pets/post/requestBody:required')).toBe('true');
    expect(baseSurface.get('callback:createPet/created/{$request.body#/callbackUrl}/post:operationId')).toBe(
      '"petCreated"',
    );
    expect(baseSurface.get('schema:Pet/properties/kind:enum')).toBe('["cat","dog"]');
    expect(baseSurface.get('securityScheme:openId:type')).toBe('"openIdConnect"');
    expect([...baseSurface.keys()].some((k) => k.includes('description') || k.includes('example'))).toBe(
      false,
    );
  });

  it.each(surfaceCases)('$name', ({ mutate, expected }) => {
    const changed = structuredClone(base);
    mutate(changed);
    expect(diffSurfaces(extractSurface(changed), baseSurface)).toEqual([...expected].sort());
  });

  it('keeps x- extensions when asked to', () => {
    const withExtension = structuredClone(base);
    at(withExtension, 'components', 'schemas', 'Pet')['x-internal'] = true;
    expect(diffSurfaces(extractSurface(withExtension, { includeExtensions: true }), baseSurface)).toEqual([
      'schema:Pet:x-internal',
    ]);
  });

  it('terminates on recursive schemas and keeps named references by name', () => {
    const surface = surfaceOfYaml(`
      openapi: 3.0.3
      paths: {}
      components:
        schemas:
          Node:
            type: object
            properties:
              children: { type: array, items: { $ref: '#/components/schemas/Node' } }
              parent: { $ref: '#/components/schemas/Node' }
          Tree:
            type: object
            properties:
              left: { $ref: '#/components/schemas/Tree/properties/right' }
              right:
                type: object
                properties:
                  next: { $ref: '#/components/schemas/Tree/properties/right' }
    `);
    expect(surface.get('schema:Node/properties/children/items:$ref')).toBe('"ref:Node"');
    expect(surface.get('schema:Node/properties/parent:$ref')).toBe('"ref:Node"');
    expect(surface.get('schema:Tree/properties/left/properties/next:$ref')).toBe(
      '"ref:#/components/schemas/Tree/properties/right"',
    );
  });

  it('terminates on recursive callbacks', () => {
    const surface = surfaceOfYaml(`
      openapi: 3.0.3
      paths:
        /a:
          post:
            operationId: a
            callbacks:
              again: { $ref: '#/components/callbacks/Again' }
            responses: { '200': { description: ok } }
      components:
        callbacks:
          Again:
            '{$request.body#/url}':
              post:
                operationId: a
                callbacks:
                  again: { $ref: '#/components/callbacks/Again' }
                responses: { '200': { description: ok } }
    `);
    expect(surface.get('callback:a/again/{$request.body#/url}/post:operationId')).toBe('"a"');
  });

  it('reports a $ref cycle between non-schema objects instead of looping', () => {
    expect(() =>
      surfaceOfYaml(`
        openapi: 3.0.3
        paths:
          /a:
            get:
              responses: { '200': { $ref: '#/components/responses/A' } }
        components:
          responses:
            A: { $ref: '#/components/responses/B' }
            B: { $ref: '#/components/responses/A' }
      `),
    ).toThrow(/cycle/);
  });

  it('reports a $ref that does not resolve', () => {
    expect(() =>
      surfaceOfYaml(`
        openapi: 3.0.3
        paths:
          /a:
            get:
              responses: { '200': { $ref: '#/components/responses/Missing' } }
      `),
    ).toThrow(/unresolvable/);
  });

  it('follows references into other files; bundling them changes nothing', () => {
    const files: Record<string, string> = {
      '/virtual/common.yaml': `
        components:
          headers:
            x-correlator: { schema: { $ref: '#/components/schemas/XCorrelator' } }
          schemas:
            XCorrelator: { type: string, maxLength: 256 }
      `,
    };
    const readText = (file: string): string => {
      const text = files[file];
      if (text === undefined) throw new Error(`no such file ${file}`);
      return text;
    };
    const external = extractSurface(
      parseDocument(`
        openapi: 3.0.3
        paths:
          /a:
            get:
              responses:
                '204':
                  description: ok
                  headers:
                    x-correlator: { $ref: 'common.yaml#/components/headers/x-correlator' }
      `),
      { file: '/virtual/main.yaml', readText },
    );
    const bundled = surfaceOfYaml(`
      openapi: 3.0.3
      paths:
        /a:
          get:
            responses:
              '204':
                description: ok
                headers:
                  x-correlator: { schema: { $ref: '#/components/schemas/XCorrelator' } }
      components:
        schemas:
          XCorrelator: { type: string, maxLength: 256 }
    `);
    expect(external.get('path:/a/get/responses/204/headers/x-correlator/schema:$ref')).toBe(
      '"ref:XCorrelator"',
    );
    expect(external.get('schema:XCorrelator:maxLength')).toBe('256');
    expect(diffSurfaces(external, bundled)).toEqual([]);
  });

  it('parses surface keys from ```surface blocks of ERRATA.md only', () => {
    const parsed = parseErrata(
      [
        '# Errata',
        '```yaml',
        'webrtc-events#not:a/key',
        '```',
        '```surface',
        'webrtc-events#callback:op/notifications/{$request.body#/sink}/post:operationId',
        '',
        'webrtc-registration#path:/sessions/post/requestBody:required',
        '```',
      ].join('\n'),
    );
    expect(Object.fromEntries([...parsed].map(([doc, keys]) => [doc, [...keys]]))).toEqual({
      'webrtc-events': ['callback:op/notifications/{$request.body#/sink}/post:operationId'],
      'webrtc-registration': ['path:/sessions/post/requestBody:required'],
    });
  });
});
