import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoTempDir, typecheck } from '../../test/support/typecheck.js';
import { EMITTERS } from '../src/emit/registry.js';
import { generateFiles } from '../src/generate.js';
import { SpecError } from '../src/parse/errors.js';
import { parseDocument } from '../src/parse/index.js';
import { normalisePatterns, translatePattern } from '../src/parse/patterns.js';

const ALL = EMITTERS.map((e) => e.name);

/**
 * Writes `files` (the first is the document) into a fresh folder, generates
 * every emitter, adds `usage` as `usage.ts` beside the output and
 * type-checks it all with the strict settings.
 */
async function generateAll(
  files: Record<string, string>,
  usage = '',
): Promise<{ out: string; warnings: string[]; contents: (suffix: string) => string; errors: string[] }> {
  const dir = await repoTempDir('construct-');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  const out = join(dir, 'gen');
  const spec = Object.keys(files)[0]!;
  const { files: generated, warnings } = await generateFiles({ specs: [spec], out, emit: ALL, cwd: dir });
  await mkdir(out, { recursive: true });
  for (const file of generated) await writeFile(join(out, file.path), file.contents);
  const paths = generated.map((file) => join(out, file.path));
  if (usage !== '') {
    await writeFile(join(out, 'usage.ts'), usage);
    paths.push(join(out, 'usage.ts'));
  }
  return {
    out,
    warnings,
    contents: (suffix) => generated.find((file) => file.path.endsWith(suffix))!.contents,
    errors: typecheck(paths),
  };
}

const doc = (paths: string, components = '', version = '3.0.3') =>
  `openapi: ${version}\ninfo: { title: T, version: '1' }\npaths:\n${paths}\ncomponents:\n  schemas:\n    Empty: { type: object }\n${components}`;

const ok = "      responses:\n        '200':\n          description: ok\n";

describe('identifiers', () => {
  it('operationIds that are not identifiers, reserved words, duplicates and missing ids', async () => {
    const result = await generateAll(
      {
        'api.yaml': doc(
          [
            `  /accounts:\n    get:\n      operationId: get-accounts-for-enhanced-balance-sheet\n${ok}`,
            `  /:\n    get:\n      operationId: meta/root\n${ok}`,
            `  /repos/{owner}/contents:\n    get:\n      operationId: repos/get-content\n      parameters:\n        - { name: owner, in: path, required: true, schema: { type: string } }\n${ok}`,
            `    delete:\n      operationId: delete\n      parameters:\n        - { name: owner, in: path, required: true, schema: { type: string } }\n${ok}`,
            `  /fill-in:\n    post:\n      operationId: KYC_Fill-in\n${ok}`,
            `  /things:\n    get:\n      operationId: listThings\n${ok}`,
            `    post:\n      operationId: listThings\n${ok}`,
            `  /2fa:\n    put:\n      operationId: 2fa-verify\n${ok}`,
            `  /anonymous/{id}:\n    get:\n      parameters:\n        - { name: id, in: path, required: true, schema: { type: string } }\n${ok}`,
          ].join(''),
          [
            '    package:\n      type: object\n      properties:\n        package: { type: string }\n        default: { type: string }\n        a-b: { type: string }\n',
            "    Foo.Bar: { type: object, properties: { x: { $ref: '#/components/schemas/package' } } }\n",
            '    string: { type: string }\n',
          ].join(''),
        ),
      },
      [
        "import { createApiClient } from './index.js';",
        "import type * as Api from './api.types.gen.js';",
        "const api = createApiClient({ apiRoot: 'http://127.0.0.1:1' });",
        'export const calls = [',
        '  api.getAccountsForEnhancedBalanceSheet(),',
        '  api.metaRoot(),',
        "  api.reposGetContent({ params: { path: { owner: 'o' } } }),",
        "  api.delete_({ params: { path: { owner: 'o' } } }),",
        '  api.KYC_FillIn(),',
        '  api.listThings(),',
        '  api.postThings(),',
        '  api._2faVerify(),',
        "  api.getAnonymousById({ params: { path: { id: 'x' } } }),",
        '];',
        "export const value: Api.package_ = { package: 'p', default: 'd', 'a-b': 'x' };",
        'export const nested: Api.FooBar = { x: value };',
        "export const text: Api.string_ = 'a';",
      ].join('\n'),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^api\.yaml#\/paths\/~1things\/post\/operationId: operationId "listThings" is already used .*named "postThings"$/,
      ),
    ]);
    const handlers = result.contents('.handlers.gen.ts');
    for (const name of ['metaRoot', 'reposGetContent', 'delete_', 'KYC_FillIn', 'postThings', '_2faVerify']) {
      expect(handlers).toContain(`${name}(`);
    }
  });
});

describe('references', () => {
  const common = [
    'openapi: 3.0.3',
    "info: { title: common, version: '1' }",
    'paths: {}',
    'components:',
    '  schemas:',
    '    SinkCredential:',
    '      type: object',
    '      properties:',
    '        credentialType: { type: string, enum: [ACCESSTOKEN, PLAIN] }',
    '      required: [credentialType]',
    '      discriminator:',
    '        propertyName: credentialType',
    '        mapping:',
    "          ACCESSTOKEN: '#/components/schemas/AccessTokenCredential'",
    '          PLAIN: PlainCredential',
    "          MISSING: '#/components/schemas/Nowhere'",
    '    AccessTokenCredential:',
    '      allOf:',
    "        - $ref: '#/components/schemas/SinkCredential'",
    '        - type: object',
    '          properties: { accessToken: { type: string } }',
    '          required: [accessToken]',
    '    PlainCredential:',
    '      allOf:',
    "        - $ref: '#/components/schemas/SinkCredential'",
    '        - type: object',
    '          properties: { identifier: { type: string }, secret: { type: string } }',
    '  responses:',
    '    Generic400:',
    '      description: Bad request',
    '      content:',
    '        application/json:',
    '          schema: { type: object, properties: { code: { type: string } }, required: [code] }',
  ].join('\n');

  it('schemas reached only through discriminator mappings, in another file; aliased responses', async () => {
    const api = doc(
      [
        '  /subscriptions:',
        '    post:',
        '      operationId: createSubscription',
        '      requestBody:',
        '        required: true',
        '        content:',
        '          application/json:',
        '            schema:',
        '              type: object',
        '              properties:',
        "                sinkCredential: { $ref: 'common.yaml#/components/schemas/SinkCredential' }",
        '      responses:',
        "        '201': { description: created }",
        "        '400': { $ref: '#/components/responses/Generic400' }",
        '',
      ].join('\n'),
      "  responses:\n    Generic400:\n      $ref: 'common.yaml#/components/responses/Generic400'\n",
    );
    const result = await generateAll(
      { 'api.yaml': api, 'common.yaml': common },
      [
        "import type * as Api from './api.types.gen.js';",
        "import type { CreateSubscriptionRequest, CreateSubscriptionResponse } from './api.types.gen.js';",
        'export const body: NonNullable<CreateSubscriptionRequest["body"]> = {',
        "  sinkCredential: { credentialType: 'ACCESSTOKEN', accessToken: 't' },",
        '};',
        "export const plain: Api.SinkCredential = { credentialType: 'PLAIN', identifier: 'i' };",
        "export const bad: Extract<CreateSubscriptionResponse, { status: 400 }>['body'] = { code: 'X' };",
        '// @ts-expect-error: an access token credential needs its token',
        "export const missing: Api.SinkCredential = { credentialType: 'ACCESSTOKEN' };",
      ].join('\n'),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^common\.yaml#.*\/mapping\/MISSING: unresolvable \$ref .*left out$/),
    ]);
  });
});

describe('references to schemas that are not named', () => {
  it('a schema inside an operation or inside another schema is referred to by a name of its own', async () => {
    const paths = [
      '  /a:',
      '    get:',
      '      operationId: getA',
      '      responses:',
      "        '200':",
      '          description: ok',
      '          content:',
      '            application/json:',
      '              schema: { type: object, properties: { id: { type: string, pattern: "^\\\\@x$" } }, required: [id] }',
      '  /b:',
      '    get:',
      '      operationId: getB',
      '      responses:',
      "        '200':",
      '          description: ok',
      '          content:',
      '            application/json:',
      "              schema: { $ref: '#/paths/~1a/get/responses/200/content/application~1json/schema' }",
      "        '201':",
      '          description: created',
      '          content:',
      '            application/json:',
      "              schema: { $ref: '#/components/schemas/Thing/properties/owner' }",
    ].join('\n');
    const components =
      '    Thing: { type: object, properties: { owner: { type: object, properties: { name: { type: string } } } } }\n';
    const result = await generateAll(
      { 'api.yaml': doc(`${paths}\n`, components) },
      [
        "import type { GetBResponse } from './api.types.gen.js';",
        "export const b: Extract<GetBResponse, { status: 200 }>['body'] = { id: '@x' };",
        "export const owner: Extract<GetBResponse, { status: 201 }>['body'] = { name: 'n' };",
      ].join('\n'),
    );
    expect(result.errors).toEqual([]);
    const { ir } = await parseDocument(join(result.out, '../api.yaml'));
    expect(Object.keys(ir.schemas)).toEqual(['Empty', 'Thing', 'A_get_200_applicationJson', 'Thing_owner']);
  });
});

describe('references into operations and to things that are not schemas', () => {
  it('a parameter of another operation gets a name of its own; a schema $ref to a response is dropped, warned', async () => {
    const dir = await repoTempDir('construct-refs-');
    const paths = [
      '  /a:',
      '    get:',
      '      parameters:',
      '        - { name: limit, in: query, schema: { type: integer } }',
      ok.trimEnd(),
      '  /b:',
      '    get:',
      "      parameters: [{ $ref: '#/paths/~1a/get/parameters/0' }]",
      '      responses:',
      "        '200':",
      '          description: ok',
      '          content:',
      "            application/json: { schema: { $ref: '#/components/responses/Nope' } }",
    ].join('\n');
    await writeFile(
      join(dir, 'api.yaml'),
      doc(`${paths}\n`, '  responses:\n    Nope: { description: not a schema }\n').replace('pattern: 0', ''),
    );
    const { ir, warnings } = await parseDocument('api.yaml', dir);
    expect(ir.operations[1]?.parameters.query[0]?.name).toBe('limit');
    expect(Object.keys((ir.bundled.components as { parameters: object }).parameters)).toEqual(['A_get_0']);
    expect(warnings).toEqual([
      'api.yaml#/paths/~1b/get/responses/200/content/application~1json/schema/$ref: "#/components/responses/Nope" is not a schema; this schema accepts any value',
    ]);
  });
});

describe('examples are data', () => {
  it('a $ref inside an example value is kept as written; one naming an Example Object is followed', async () => {
    const dir = await repoTempDir('construct-examples-');
    const paths = [
      '  /a:',
      '    get:',
      '      responses:',
      "        '200':",
      '          description: ok',
      '          content:',
      '            application/json:',
      "              schema: { $ref: '#/components/schemas/Page' }",
      '              examples:',
      "                literal: { value: { $ref: '#/components/schemas/Page/example' } }",
      "                named: { $ref: '#/components/examples/One' }",
      '                value: { value: { $ref: not/a/file.yaml } }',
    ].join('\n');
    const components = [
      '    Page:',
      '      type: object',
      '      example: { next: 2 }',
      '      examples: [{ $ref: also/data.yaml }]',
      '      properties:',
      '        examples:',
      '          type: object',
      "          properties: { value: { $ref: '#/components/schemas/Empty' } }",
      '  examples:',
      "    One: { value: { $ref: '#/components/schemas/Page' } }",
    ].join('\n');
    await writeFile(join(dir, 'api.yaml'), doc(`${paths}\n`, `${components}\n`, '3.1.0'));
    const { ir, warnings } = await parseDocument('api.yaml', dir);
    expect(warnings).toEqual([]);
    expect(Object.keys((ir.bundled.components as { schemas: object }).schemas)).toEqual(['Empty', 'Page']);
    expect(ir.bundled).toMatchObject({
      paths: {
        '/a': {
          get: {
            responses: {
              200: {
                content: {
                  'application/json': {
                    examples: {
                      literal: { value: { $ref: '#/components/schemas/Page/example' } },
                      named: { $ref: '#/components/examples/One' },
                      value: { value: { $ref: 'not/a/file.yaml' } },
                    },
                  },
                },
              },
            },
          },
        },
      },
      components: {
        examples: { One: { value: { $ref: '#/components/schemas/Page' } } },
        schemas: {
          Page: {
            examples: [{ $ref: 'also/data.yaml' }],
            properties: { examples: { properties: { value: { $ref: '#/components/schemas/Empty' } } } },
          },
        },
      },
    });
  });
});

describe('recursive schemas', () => {
  it('a value that contains itself, directly and through arrays and maps', async () => {
    const components = [
      '    EdgeConfigItemValue:',
      '      oneOf:',
      '        - type: string',
      '        - type: number',
      "        - { type: array, items: { $ref: '#/components/schemas/EdgeConfigItemValue' } }",
      "        - { type: object, additionalProperties: { $ref: '#/components/schemas/EdgeConfigItemValue' } }",
      '    Node:',
      '      type: object',
      "      properties: { children: { type: array, items: { $ref: '#/components/schemas/Node' } } }",
      '    Alias:',
      "      $ref: '#/components/schemas/Node'",
    ].join('\n');
    const result = await generateAll(
      {
        'api.yaml': doc(
          `  /config:\n    put:\n      operationId: putConfig\n      requestBody:\n        content:\n          application/json:\n            schema: { $ref: '#/components/schemas/EdgeConfigItemValue' }\n${ok}`,
          `${components}\n`,
        ),
      },
      [
        "import type * as Api from './api.types.gen.js';",
        "export const value: Api.EdgeConfigItemValue = { a: [1, 'b', { c: 2 }] };",
        'export const node: Api.Alias = { children: [{ children: [] }] };',
      ].join('\n'),
    );
    expect(result.errors).toEqual([]);
  });
});

describe('patterns from other regex dialects', () => {
  it.each([
    ['^[a-z]+$', '^[a-z]+$'],
    ['^\\+?[0-9]{5,15}$', '^\\+?[0-9]{5,15}$'],
    ['^[\\w\\-\\.]+@example\\.com$', '^[\\w\\-\\.]+@example\\.com$'],
    ['^\\@\\:[a-z]\\-x$', '^@:[a-z]-x$'],
    ['^[[:alpha:]][[:digit:]]*$', '^[A-Za-z][0-9]*$'],
    ['\\A[a-z]+\\z', '^[a-z]+$'],
    ['\\A[a-z]+\\Z', '^[a-z]+(?=\\n?$)'],
    ['^a{b}$', '^a\\{b\\}$'],
    ['^(?P<year>\\d{4})$', '^(?<year>\\d{4})$'],
    ['^[]a]$', '^[\\]a]$'],
  ])('%s → %s', (pattern, translated) => {
    const result = translatePattern(pattern);
    expect(result).toEqual({ pattern: translated, changed: pattern !== translated });
  });

  it.each([
    ['(?i)^abc$'],
    ['^a++$'],
    ['^(?>ab)c$'],
    ['^\\h+$'],
    ['^a{,3}$'],
    ['^[[:nope:]]$'],
    ['(unclosed'],
  ])('%s has no faithful translation', (pattern) => {
    expect(translatePattern(pattern)).toHaveProperty('unsupported');
  });

  it('patternProperties keys are translated too; an untranslatable one is left out with a warning', () => {
    const document = {
      components: { schemas: { M: { type: 'object', patternProperties: { '^\\@a$': {}, '(?i)b': {} } } } },
    };
    const warnings: string[] = [];
    normalisePatterns(document, 'api.yaml', warnings);
    expect(document.components.schemas.M.patternProperties).toEqual({ '^@a$': {} });
    expect(warnings).toEqual([
      expect.stringMatching(/^api\.yaml#\/components\/schemas\/M\/patternProperties\/\(\?i\)b: pattern/),
    ]);
  });

  it('an untranslatable pattern is left unchecked with a warning naming its pointer', async () => {
    const result = await generateAll({
      'api.yaml': doc(
        `  /a:\n    get:\n      operationId: getA\n      parameters:\n        - { name: q, in: query, schema: { type: string, pattern: '(?i)^abc$' } }\n${ok}`,
        "    Code: { type: string, pattern: '^\\@[a-z]+$' }\n",
      ),
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([
      'api.yaml#/paths/~1a/get/parameters/0/schema/pattern: pattern "(?i)^abc$" is not a JavaScript regular expression (Invalid group); the validators do not check it',
    ]);
    const { ir } = await parseDocument(join(result.out, '../api.yaml'));
    expect(ir.schemas.Code).toEqual({ type: 'string', pattern: '^@[a-z]+$' });
  });
});

describe('errors in the document', () => {
  const cases: [string, string, RegExp][] = [
    [
      'an unknown type in a named schema',
      doc(
        `  /a:\n    get:\n${ok}`,
        '    Amount: { type: object, properties: { value: { type: integr } } }\n',
      ),
      /^api\.yaml#\/components\/schemas\/Amount\/properties\/value\/type: unknown type "integr"/,
    ],
    [
      'an unknown type in a parameter',
      doc(
        `  /a:\n    get:\n      parameters:\n        - { name: q, in: query, schema: { type: [string, strin] } }\n${ok}`,
        '',
        '3.1.0',
      ),
      /^api\.yaml#\/paths\/~1a\/get\/parameters\/0\/schema\/type\/1: unknown type "strin"/,
    ],
    [
      'Swagger 2.0 written as a number',
      "swagger: 2.0\ninfo: { title: T, version: '1' }\npaths: {}\n",
      /^api\.yaml#\/swagger: unsupported: Swagger 2 \(OpenAPI 2\.0\) documents; convert/,
    ],
  ];

  it.each(cases)('%s: one SpecError with file and pointer, for every emitter', async (_, text, message) => {
    const dir = await repoTempDir('construct-error-');
    await writeFile(join(dir, 'api.yaml'), text);
    for (const emit of [['types'], ALL]) {
      const error = await generateFiles({ specs: ['api.yaml'], out: join(dir, 'gen'), emit, cwd: dir }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).message).toMatch(message);
    }
  });

  it('a schema Ajv refuses (a negative minLength) is a SpecError at its pointer, not an internal error', async () => {
    const dir = await repoTempDir('construct-meta-');
    await writeFile(
      join(dir, 'api.yaml'),
      doc(`  /a:\n    get:\n${ok}`, '    Code: { type: string, minLength: -1 }\n'),
    );
    const error = await generateFiles({
      specs: ['api.yaml'],
      out: join(dir, 'gen'),
      emit: ALL,
      cwd: dir,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).message).toBe(
      'api.yaml#/components/schemas/Code/minLength: invalid schema: minLength must be >= 0',
    );
  });

  it('repeated `enum` values are dropped with a warning; the type and validator keep one of each', async () => {
    const dir = await repoTempDir('construct-enum-');
    await writeFile(
      join(dir, 'api.yaml'),
      doc(`  /a:\n    get:\n${ok}`, '    Version: { type: string, enum: [v1, v2, v2, v1, v3] }\n'),
    );
    const { ir, warnings } = await parseDocument('api.yaml', dir);
    expect(warnings).toEqual(['api.yaml#/components/schemas/Version/enum: 2 repeated value(s) dropped']);
    expect(ir.schemas.Version).toEqual({ type: 'string', enum: ['v1', 'v2', 'v3'] });
    const result = await generateFiles({ specs: ['api.yaml'], out: join(dir, 'gen'), emit: ALL, cwd: dir });
    expect(result.files.length).toBeGreaterThan(0);
  });

  it('a parameter named "" is left out with a warning; the rest of the operation generates and compiles', async () => {
    const result = await generateAll({
      'api.yaml': doc(
        `  /customers:\n    get:\n      operationId: listCustomers\n      parameters:\n        - { name: '', in: query, schema: { type: string } }\n        - { name: page, in: query, schema: { type: integer } }\n${ok}`,
      ),
    });
    expect(result.warnings).toEqual([
      'api.yaml#/paths/~1customers/get/parameters/0/name: a parameter named "" is left out',
    ]);
    expect(result.errors).toEqual([]);
    const { ir } = await parseDocument('api.yaml', join(result.out, '..'));
    expect(ir.operations[0]!.parameters.query.map((p) => p.name)).toEqual(['page']);
  }, 120_000);

  it('a path template with no parameter is taken as a required string path parameter, with a warning', async () => {
    const result = await generateAll(
      {
        'api.yaml': doc(
          `  /uploads?convert={convert}:\n    post:\n      operationId: upload\n${ok}  /a/{id}/{id}:\n    get:\n      operationId: getA\n      parameters:\n        - { name: q, in: query, schema: { type: string } }\n${ok}`,
        ),
      },
      [
        "import { createApiClient } from './index.js';",
        "const api = createApiClient({ apiRoot: 'http://127.0.0.1:1' });",
        "export const a = () => api.getA({ params: { path: { id: 'x' }, query: { q: 'y' } } });",
        "export const b = () => api.upload({ params: { path: { convert: 'fax' } } });",
        '// @ts-expect-error the template is a required path parameter',
        'export const c = () => api.upload();',
        '',
      ].join('\n'),
    );
    expect(result.warnings).toEqual([
      'api.yaml#/paths/~1uploads?convert={convert}/post: path template "{convert}" has no path parameter; taken as a required string',
      'api.yaml#/paths/~1a~1{id}~1{id}/get: path template "{id}" has no path parameter; taken as a required string',
    ]);
    expect(result.errors).toEqual([]);
  }, 120_000);

  it('`required: true` on a property is ignored with a warning', async () => {
    const dir = await repoTempDir('construct-required-');
    await writeFile(
      join(dir, 'api.yaml'),
      doc(
        `  /a:\n    get:\n${ok}`,
        '    A: { type: object, properties: { b: { type: string, required: true } } }\n',
      ),
    );
    const { warnings } = await parseDocument('api.yaml', dir);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^api\.yaml#\/components\/schemas\/A\/properties\/b\/required: `required` must list/,
      ),
    ]);
  });
});
