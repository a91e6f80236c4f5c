import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoTempDir, typecheck } from '../../test/support/typecheck.js';
import { requestType, responseType, statusKey, statusType } from '../src/emit/types/operation-types.js';
import { generateFiles, writeFiles } from '../src/generate.js';
import type { Operation } from '../src/ir/types.js';
import { fixture } from './helpers.js';

const upstream = new URL('../../../shared/camara/', import.meta.url).pathname;
/** These cases read the CAMARA upstream files beside the clone (../shared/camara); without them they are skipped. */
const HAVE_UPSTREAM = existsSync(upstream);
if (!HAVE_UPSTREAM)
  console.warn(
    `${basename(import.meta.url)}: ../shared/camara is absent; the cases built on the CAMARA upstream files are skipped`,
  );

const print = (node: ts.Node): string =>
  ts
    .createPrinter()
    .printNode(ts.EmitHint.Unspecified, node, ts.createSourceFile('x.ts', '', ts.ScriptTarget.ESNext));

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

const param = (name: string, location: 'path' | 'query' | 'header', required: boolean) => ({
  name,
  in: location,
  required,
  deprecated: false,
  schema: { type: 'string' },
  style: 'simple',
  explode: false,
  examples: [],
});

describe('operation types', () => {
  it.each([
    ['201', 201, '201'],
    ['4XX', '4XX', 'number'],
    ['default', 'default', 'number'],
  ])('status %s', (status, key, type) => {
    expect(statusKey(status)).toBe(key);
    expect(print(statusType(status))).toBe(type);
  });

  it.each([
    ['nothing documented', operation({}), 'export interface OpRequest {\n}'],
    [
      'required path param, optional header, required body',
      operation({
        parameters: {
          path: [param('id', 'path', true)],
          query: [],
          header: [param('x-correlator', 'header', false)],
          cookie: [],
        },
        requestBody: { required: true, content: [{ mediaType: 'application/json', examples: [] }] },
      }),
      'export interface OpRequest {\n    params: NonNullable<paths["/things/{id}"]["post"]["parameters"]["path"]>;\n    headers?: NonNullable<paths["/things/{id}"]["post"]["parameters"]["header"]>;\n    body: NonNullable<paths["/things/{id}"]["post"]["requestBody"]>["content"]["application/json"];\n}',
    ],
    [
      'optional body with two media types',
      operation({
        requestBody: {
          required: false,
          content: [
            { mediaType: 'application/json', examples: [] },
            { mediaType: 'text/plain', examples: [] },
          ],
        },
      }),
      'export interface OpRequest {\n    body?: NonNullable<paths["/things/{id}"]["post"]["requestBody"]>["content"]["application/json"] | NonNullable<paths["/things/{id}"]["post"]["requestBody"]>["content"]["text/plain"];\n}',
    ],
  ])('request: %s', (_, op, expected) => {
    expect(print(requestType('OpRequest', op))).toContain(expected);
  });

  it('response: one member per status; no content → body?: never; callbacks index `callbacks`', () => {
    const op = {
      ...operation({
        responses: [
          {
            status: '204',
            description: '',
            headers: [{ name: 'x-correlator', required: false, schema: {} }],
            content: [],
          },
          {
            status: 'default',
            description: '',
            headers: [],
            content: [{ mediaType: 'application/json', examples: [] }],
          },
        ],
      }),
      kind: 'callback' as const,
      name: 'n',
    };
    expect(print(responseType('OpResponse', op))).toContain(
      'export type OpResponse = {\n    status: 204;\n    body?: never;\n    headers?: callbacks["op"]["responses"][204]["headers"];\n} | {\n    status: number;\n    body: callbacks["op"]["responses"]["default"]["content"]["application/json"];\n};',
    );
  });
});

function documentsOf(files: { path: string }[]): string[] {
  return files.map((f) => f.path).sort();
}

describe('generated output', () => {
  it('matches the golden files for the 3.1 webhooks fixture', async () => {
    const { files } = await generateFiles({
      specs: [fixture('webhooks-3.1.yaml')],
      out: '.',
      cwd: fixture(''),
    });
    expect(documentsOf(files)).toEqual([
      'index.ts',
      'webhooks-3.1.client.gen.ts',
      'webhooks-3.1.types.gen.ts',
    ]);
    for (const file of files) {
      await expect(file.contents).toMatchFileSnapshot(`./__snapshots__/webhooks-3.1/${file.path}`);
    }
  });

  it('starts every file with the do-not-edit header naming the source', async () => {
    const { files } = await generateFiles({
      specs: [fixture('webhooks-3.1.yaml')],
      out: '.',
      cwd: fixture(''),
    });
    for (const file of files) {
      expect(
        file.contents.startsWith('/**\n * Generated by telegate from webhooks-3.1.yaml.\n * Do not edit'),
      ).toBe(true);
    }
  });

  it.skipIf(!HAVE_UPSTREAM)(
    'emits request/response types, payload types for callbacks, and schema aliases',
    async () => {
      const { files } = await generateFiles({
        specs: [`${upstream}webrtc-events.yaml`],
        out: '.',
        cwd: upstream,
      });
      const types = files.find((f) => f.path === 'webrtc-events.types.gen.ts')!.contents;
      expect(types).toContain('export interface callbacks {');
      expect(types).toContain('createNotificationChannelSubscriptionNotifications: {');
      expect(types).toContain('export interface CreateNotificationChannelSubscriptionNotificationsRequest {');
      expect(types).toContain(
        'export type CreateNotificationChannelSubscriptionResponse = {\n    status: 201;',
      );
      expect(types).toContain(
        'export type SubscriptionRequest = components["schemas"]["SubscriptionRequest"];',
      );
    },
  );
});

describe('generated output compiles under the strict settings', () => {
  it.skipIf(!HAVE_UPSTREAM)('every CAMARA document in ../shared/camara, generated together', async () => {
    const yamls = (await readdir(upstream)).filter((f) => f.endsWith('.yaml')).map((f) => join(upstream, f));
    expect(yamls.length).toBeGreaterThanOrEqual(5);
    const out = await repoTempDir('camara-');
    const { files } = await generateFiles({ specs: yamls, out, cwd: upstream });
    await writeFiles(out, files);
    const usage = join(out, 'usage.ts');
    // The index must re-export each document's client and namespaced types.
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(
        usage,
        [
          "import { createWebrtcRegistrationClient, type WebrtcRegistration } from './index.js';",
          "const api = createWebrtcRegistrationClient({ apiRoot: 'http://127.0.0.1:1' });",
          "const body: WebrtcRegistration.RegSessionRequest = { deviceId: '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10' };",
          'export const call = () => api.createRegistration({ body });',
        ].join('\n'),
      ),
    );
    expect(typecheck([...files.map((f) => join(out, f.path)), usage])).toEqual([]);
  });

  it('the OpenAPI 3.1 fixture with webhooks', async () => {
    const out = await repoTempDir('webhooks-');
    const { files } = await generateFiles({ specs: [fixture('webhooks-3.1.yaml')], out, cwd: fixture('') });
    await writeFiles(out, files);
    expect(typecheck(files.map((f) => join(out, f.path)))).toEqual([]);
  });

  it('a document with external references', async () => {
    const out = await repoTempDir('external-');
    const { files } = await generateFiles({ specs: [fixture('external/api.yaml')], out, cwd: fixture('') });
    await writeFiles(out, files);
    expect(typecheck(files.map((f) => join(out, f.path)))).toEqual([]);
  });
});

describe('EmitDocument naming', () => {
  it('uses the configured API name in exported identifiers', async () => {
    const { files } = await generateFiles({
      specs: [{ path: fixture('webhooks-3.1.yaml'), name: 'Parcels' }],
      out: '.',
      cwd: fixture(''),
    });
    const client = files.find((f) => f.path.endsWith('.client.gen.ts'))!.contents;
    expect(client).toContain('export function createParcelsClient(options: ClientOptions): ParcelsClient');
    const index = files.find((f) => f.path === 'index.ts')!.contents;
    expect(index).toContain(
      "export { createParcelsClient as createClient } from './webhooks-3.1.client.gen.js';",
    );
  });
});
