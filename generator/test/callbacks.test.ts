import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, repoTempDir, typecheck } from '../../test/support/typecheck.js';
import {
  callbackHandlerName,
  callbackModels,
  cloudEventTypes,
  eventHandlerNames,
  namedSchema,
  pickContent,
} from '../src/emit/callbacks/model.js';
import { generateFiles, writeFiles } from '../src/generate.js';
import type { CallbackOperation, Schema } from '../src/ir/types.js';
import { fixture } from './helpers.js';

const upstream = new URL('../../../shared/camara/', import.meta.url).pathname;
/** The compile check also takes the CAMARA upstream webrtc-events.yaml beside the clone (../shared/camara) when it is there. */
const HAVE_UPSTREAM = existsSync(upstream);
if (!HAVE_UPSTREAM)
  console.warn(
    `${basename(import.meta.url)}: ../shared/camara is absent; the upstream webrtc-events.yaml is left out of the compile check`,
  );
const ourEvents = join(repoRoot, 'spec/webrtc-events.yaml');
const EMIT = ['types', 'validators', 'callbacks'];
const T = 'org.camaraproject.webrtc-events.v0';

describe('eventHandlerNames', () => {
  it.each([
    [[`${T}.session-status`], ['onSessionStatus']],
    [
      [`${T}.session-invitation`, `${T}.session-status`, `${T}.subscription-ended`, `${T}.registration-ends`],
      ['onSessionInvitation', 'onSessionStatus', 'onSubscriptionEnded', 'onRegistrationEnds'],
    ],
    [
      ['com.example.v1.created', 'com.example.v2.created'],
      ['onV1Created', 'onV2Created'],
    ],
    [
      ['a.b.created', 'c.b.created', 'x.updated'],
      ['onABCreated', 'onCBCreated', 'onUpdated'],
    ],
    [['user_signed_up'], ['onUserSignedUp']],
    [['...'], ['onEvent']],
  ])('%j → %j', (types, names) => {
    expect(eventHandlerNames(types)).toEqual(names);
  });
});

describe('callbackHandlerName', () => {
  it.each([
    ['parcelDeliveredWebhook', 'onParcelDeliveredWebhook'],
    ['onParcelLost', 'onParcelLost'],
    ['online', 'onOnline'],
    ['post-notification', 'onPostNotification'],
  ])('%s → %s', (id, name) => {
    expect(callbackHandlerName(id)).toBe(name);
  });
});

describe('pickContent', () => {
  const content = (...types: string[]) => types.map((mediaType) => ({ mediaType, examples: [] }));
  it.each([
    [content('application/json', 'application/cloudevents+json'), 'application/cloudevents+json'],
    [content('text/plain', 'application/merge-patch+json'), 'application/merge-patch+json'],
    [content('text/plain'), 'text/plain'],
    [content(), undefined],
  ])('%j → %s', (list, picked) => {
    expect(pickContent(list)?.mediaType).toBe(picked);
  });
});

describe('cloudEventTypes', () => {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const withType = (type: string, extra: Schema = {}): Schema => ({
    allOf: [ref('Base'), { properties: { type: { enum: [type] } } }],
    ...extra,
  });
  const schemas: Record<string, Schema> = {
    Base: { type: 'object', properties: { type: { type: 'string' } } },
    Mapped: {
      type: 'object',
      discriminator: { propertyName: 'type', mapping: { 'x.a': ref('A').$ref, 'x.b': 'B' } },
    },
    Alias: ref('Mapped'),
    A: withType('x.a'),
    B: withType('x.b'),
    Branches: { oneOf: [ref('A'), ref('B')] },
    ConstBranches: { anyOf: [{ properties: { type: { const: 'x.c' } } }, ref('B')] },
    OtherDiscriminator: { discriminator: { propertyName: 'kind', mapping: { k: 'A' } } },
    Enum: { type: 'object', properties: { type: { type: 'string', enum: ['x.d', 'x.e'] } } },
    EnumRef: { type: 'object', properties: { type: ref('TypeEnum') } },
    TypeEnum: { type: 'string', enum: ['x.f'] },
    Untyped: { type: 'object', properties: { type: { type: 'string' } } },
  };
  it.each([
    [
      'discriminator mapping',
      ref('Mapped'),
      [
        { type: 'x.a', schema: 'A' },
        { type: 'x.b', schema: 'B' },
      ],
    ],
    [
      'through a $ref chain',
      ref('Alias'),
      [
        { type: 'x.a', schema: 'A' },
        { type: 'x.b', schema: 'B' },
      ],
    ],
    [
      'oneOf branches fixing type',
      ref('Branches'),
      [
        { type: 'x.a', schema: 'A' },
        { type: 'x.b', schema: 'B' },
      ],
    ],
    ['anyOf with const and $ref', ref('ConstBranches'), [{ type: 'x.c' }, { type: 'x.b', schema: 'B' }]],
    ['enum on type', ref('Enum'), [{ type: 'x.d' }, { type: 'x.e' }]],
    ['enum through $ref', ref('EnumRef'), [{ type: 'x.f' }]],
    ['a discriminator on another property', ref('OtherDiscriminator'), []],
    ['no information', ref('Untyped'), []],
    ['no schema', undefined, []],
  ])('%s', (_, schema, expected) => {
    expect(cloudEventTypes(schema, { schemas })).toEqual(expected);
  });

  it('namedSchema follows $ref chains to the last named schema', () => {
    expect(namedSchema(ref('Alias'), { schemas })).toBe('Mapped');
    expect(namedSchema({ type: 'object' }, { schemas })).toBeUndefined();
  });
});

describe('callbackModels', () => {
  const callback = (id: string, mediaType: string | undefined): CallbackOperation => ({
    id,
    idSource: 'document',
    kind: 'webhook',
    name: id,
    method: 'post',
    path: id,
    deprecated: false,
    tags: [],
    parameters: { path: [], query: [], header: [], cookie: [] },
    ...(mediaType ? { requestBody: { required: true, content: [{ mediaType, examples: [] }] } } : {}),
    responses: [],
    security: [],
    pointer: `/webhooks/${id}`,
  });

  it('makes method and handler names unique and keeps them clear of drain/close', () => {
    const models = callbackModels({
      schemas: {},
      callbacks: [
        callback('close', 'application/json'),
        callback('ping', undefined),
        callback('Ping', 'application/cloudevents+json'),
      ],
    });
    expect(
      models.map((m) => [
        m.methodName,
        m.mediaType,
        m.cloudEvents,
        m.handler,
        m.events.map((e) => e.handler),
      ]),
    ).toEqual([
      ['closeCallback', 'application/json', false, 'onClose', []],
      ['ping', null, false, 'onPing', []],
      ['Ping', 'application/cloudevents+json', true, 'onPing2', []],
    ]);
  });
});

describe('generated callbacks file', () => {
  it.each([
    ['spec/webrtc-events.yaml', ourEvents, repoRoot, 'webrtc-events.callbacks.gen.ts'],
    ['the 3.1 webhooks fixture', fixture('webhooks-3.1.yaml'), fixture(''), 'webhooks-3.1.callbacks.gen.ts'],
  ])('matches the golden file for %s', async (_, spec, cwd, path) => {
    const { files } = await generateFiles({ specs: [spec], out: '.', emit: ['callbacks'], cwd });
    expect(files.map((f) => f.path).sort()).toEqual(
      ['index.ts', path, path.replace('callbacks', 'types'), path.replace('callbacks', 'validators')].sort(),
    );
    const file = files.find((f) => f.path === path)!;
    await expect(file.contents).toMatchFileSnapshot(`./__snapshots__/callbacks/${path}`);
    const index = files.find((f) => f.path === 'index.ts')!.contents;
    expect(index).toContain(`export * from './${path.replace(/\.ts$/, '.js')}';`);
    expect(index).toMatch(/export \{ create\w+CallbackSender as createCallbackSender \}/);
  });

  it('writes no file for a document without callbacks', async () => {
    const { files } = await generateFiles({
      specs: [join(repoRoot, 'spec/webrtc-registration.yaml')],
      out: '.',
      emit: ['callbacks'],
      cwd: repoRoot,
    });
    expect(files.some((f) => f.path.endsWith('.callbacks.gen.ts'))).toBe(false);
  });
});

/** Typed use of the generated sender and receiver: must compile, and misuse must not. */
const eventsUsage = (file: string) => `
import { expectTypeOf } from 'vitest';
import type { DeliveryFailureReason, DeliveryResult, ReceivedCallback } from '@telegate/runtime/callbacks';
import {
  createWebrtcEventsCallbackReceiver,
  createWebrtcEventsCallbackSender,
  type WebrtcEventsCallbackHandlers,
} from './${file}.callbacks.gen.js';
import type * as Types from './${file}.types.gen.js';

const sender = createWebrtcEventsCallbackSender({ source: 'https://gw.example', sinkPolicy: { allowHttp: true } });
// @ts-expect-error CloudEvents senders need a source
createWebrtcEventsCallbackSender({});

// The types emitter currently gives event \`data\` an intersection with \`Record<string, never>\`
// (openapi-typescript's \`emptyObjectsUnknown: false\`) that no value satisfies; \`satisfies\`
// checks the data against its real schema and the cast bridges the gap.
type DataOf<E> = E extends { data?: infer D } ? D : never;
export async function all(sink: string): Promise<DeliveryResult[]> {
  const method = sender.__METHOD__;
  const endedData = { subscriptionId: 's1', terminationReason: 'SUBSCRIPTION_EXPIRED' } satisfies Types.SubscriptionEnded;
  const ended = method(sink, {
    type: 'org.camaraproject.webrtc-events.v0.subscription-ended',
    data: endedData as DataOf<Types.EventSubscriptionEnded>,
  });
  // @ts-expect-error an event type the document does not define
  method(sink, { type: 'org.camaraproject.webrtc-events.v0.other', data: {} });
  // @ts-expect-error a registration-ends event needs registrationId
  const missing = { terminationReason: 'NETWORK_TERMINATED' } satisfies Types.RegistrationEnds;
  void missing;
  // @ts-expect-error the sink comes first
  method({ type: 'org.camaraproject.webrtc-events.v0.subscription-ended' }, sink);
  const result = await ended;
  expectTypeOf(result).toEqualTypeOf<DeliveryResult>();
  if (!result.ok) expectTypeOf(result.reason).toEqualTypeOf<DeliveryFailureReason>();
  return [result];
}

const handlers: WebrtcEventsCallbackHandlers = {
  onSessionInvitation(event, context) {
    expectTypeOf(event).toEqualTypeOf<Types.EventSessionInvitation>();
    expectTypeOf(context).toEqualTypeOf<ReceivedCallback>();
  },
  onSessionStatus(event) {
    expectTypeOf(event).toEqualTypeOf<Types.EventSessionStatus>();
    expectTypeOf(event.type).toEqualTypeOf<'org.camaraproject.webrtc-events.v0.session-status'>();
  },
  async onSubscriptionEnded(event) {
    expectTypeOf(event).toEqualTypeOf<Types.EventSubscriptionEnded>();
  },
  onRegistrationEnds(event) {
    expectTypeOf(event).toEqualTypeOf<Types.EventRegistrationEnds>();
  },
};
export const receiver = createWebrtcEventsCallbackReceiver(handlers, { auth: { bearer: 't' } });
export const fetchHandler: (request: Request) => Promise<Response> = receiver.fetch;
// @ts-expect-error every handler is required
createWebrtcEventsCallbackReceiver({ onSessionStatus() {} });
`;

const parcelsUsage = `
import { expectTypeOf } from 'vitest';
import { createWebhooks31CallbackReceiver, createWebhooks31CallbackSender } from './webhooks-3.1.callbacks.gen.js';
import type * as Types from './webhooks-3.1.types.gen.js';
const sender = createWebhooks31CallbackSender();
export const sent = sender.parcelDeliveredWebhook('https://hooks.example/', {
  parcelId: '6c0f8d2e-3f5a-4b8e-9d3c-1a2b3c4d5e6f',
  deliveredAt: '2025-06-01T12:00:00Z',
});
// @ts-expect-error deliveredAt is required
sender.parcelDeliveredWebhook('https://hooks.example/', { parcelId: 'x' });
sender.onParcelLost('https://hooks.example/', { id: 'x', status: 'lost' });
export const receiver = createWebhooks31CallbackReceiver({
  onParcelDeliveredWebhook(payload) {
    expectTypeOf(payload).toEqualTypeOf<Types.ParcelDeliveredWebhookPayload>();
  },
  onParcelLost(payload) {
    expectTypeOf(payload.status).toEqualTypeOf<'created' | 'in_transit' | 'delivered' | 'lost'>();
  },
});
`;

describe('generated callbacks compile under the strict settings', () => {
  // One program for every case: type-checking is dominated by loading lib and @types.
  // The upstream webrtc-events.yaml joins them when ../shared/camara is there.
  it('our webrtc-events.yaml (and the upstream one), the 3.1 fixture and all our documents together, with typed use', async () => {
    const cases: { specs: string[]; cwd: string; emit: string[]; usage?: string }[] = [
      {
        specs: [ourEvents],
        cwd: repoRoot,
        emit: EMIT,
        usage: eventsUsage('webrtc-events').replace('__METHOD__', 'postNotification'),
      },
      ...(HAVE_UPSTREAM
        ? [
            {
              specs: [`${upstream}webrtc-events.yaml`],
              cwd: upstream,
              emit: EMIT,
              usage: eventsUsage('webrtc-events').replace(
                '__METHOD__',
                'createNotificationChannelSubscriptionNotifications',
              ),
            },
          ]
        : []),
      { specs: [fixture('webhooks-3.1.yaml')], cwd: fixture(''), emit: EMIT, usage: parcelsUsage },
      {
        specs: ['webrtc-registration', 'webrtc-call-handling', 'webrtc-events'].map((n) =>
          join(repoRoot, `spec/${n}.yaml`),
        ),
        cwd: repoRoot,
        emit: [...EMIT, 'client'],
      },
    ];
    const checked: string[] = [];
    for (const { specs, cwd, emit, usage } of cases) {
      const out = await repoTempDir('callbacks-');
      const { files } = await generateFiles({ specs, out, emit, cwd });
      await writeFiles(out, files);
      expect(files.filter((f) => f.path.endsWith('.callbacks.gen.ts'))).toHaveLength(1);
      checked.push(...files.map((f) => join(out, f.path)));
      if (usage) {
        await writeFile(join(out, 'usage.ts'), usage);
        checked.push(join(out, 'usage.ts'));
      }
    }
    expect(typecheck(checked)).toEqual([]);
  });
});
