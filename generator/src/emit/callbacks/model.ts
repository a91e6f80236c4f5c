import type { ApiDocument, CallbackOperation, MediaContent, Schema } from '../../ir/types.js';
import { camelCase, pascalCase } from '../../parse/build-ir.js';
import { isIdentifier } from '../ts-ast.js';
import { componentName, discriminatorOf } from '../validators/schema.js';

/**
 * What the callbacks emitter knows about each callback/webhook, derived
 * from the IR only: one transform per question, each table-tested.
 */

export const CLOUDEVENTS_MEDIA_TYPE = 'application/cloudevents+json';

/** One CloudEvents `type` a callback delivers. */
export interface EventTypeModel {
  type: string;
  /** Named schema of events of this type (from the discriminator mapping), if any. */
  schema?: string;
  handler: string;
}

export interface CallbackModel {
  callback: CallbackOperation;
  /** Sender method name; key of the generated definitions. */
  methodName: string;
  mediaType: string | null;
  /** Structured-mode CloudEvents (`application/cloudevents+json`). */
  cloudEvents: boolean;
  /** CloudEvents with known types: one entry each. */
  events: EventTypeModel[];
  /** Handler of every payload when there are no known event types. */
  handler?: string;
}

/** The request body the sender sends: CloudEvents first, then JSON, then whatever comes first. */
export function pickContent(content: readonly MediaContent[]): MediaContent | undefined {
  return (
    content.find((c) => c.mediaType.toLowerCase() === CLOUDEVENTS_MEDIA_TYPE) ??
    content.find((c) => /[/+]json$/i.test(c.mediaType)) ??
    content[0]
  );
}

/** The named schema a schema refers to, following `$ref` chains (`undefined` for inline schemas). */
export function namedSchema(
  schema: Schema | undefined,
  ir: Pick<ApiDocument, 'schemas'>,
): string | undefined {
  let name: string | undefined;
  let current = schema;
  for (let depth = 0; current && typeof current.$ref === 'string' && depth < 32; depth++) {
    const next = componentName(current.$ref);
    if (next === undefined || !(next in ir.schemas)) return name;
    name = next;
    current = ir.schemas[next];
  }
  return name;
}

function resolve(schema: Schema | undefined, ir: Pick<ApiDocument, 'schemas'>): Schema | undefined {
  const name = namedSchema(schema, ir);
  return name === undefined ? schema : ir.schemas[name];
}

/** The single value a `type` property is fixed to (`enum: [x]` or `const: x`), looking into `allOf`. */
function fixedType(
  schema: Schema | undefined,
  ir: Pick<ApiDocument, 'schemas'>,
  depth = 0,
): string | undefined {
  const resolved = resolve(schema, ir);
  if (!resolved || depth > 8) return undefined;
  const property = (resolved.properties as Record<string, Schema> | undefined)?.type;
  if (property) {
    if (typeof property.const === 'string') return property.const;
    if (Array.isArray(property.enum) && property.enum.length === 1 && typeof property.enum[0] === 'string') {
      return property.enum[0];
    }
  }
  for (const part of Array.isArray(resolved.allOf) ? (resolved.allOf as Schema[]) : []) {
    const found = fixedType(part, ir, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The CloudEvents `type`s a payload schema allows, each with the named
 * schema of its events when known, in document order:
 * 1. a discriminator on `type` (explicit or implicit mapping);
 * 2. `oneOf`/`anyOf` branches that each fix `type` to one value;
 * 3. an `enum` on the `type` property (no per-type schema).
 * Empty when the schema does not say.
 */
export function cloudEventTypes(
  schema: Schema | undefined,
  ir: Pick<ApiDocument, 'schemas'>,
): { type: string; schema?: string }[] {
  const resolved = resolve(schema, ir);
  if (!resolved) return [];
  const discriminator = discriminatorOf(resolved);
  if (
    discriminator &&
    discriminator.propertyName === 'type' &&
    Object.keys(discriminator.mapping).length > 0
  ) {
    return Object.entries(discriminator.mapping).map(([type, name]) =>
      name in ir.schemas ? { type, schema: name } : { type },
    );
  }
  const branches = [
    ...(Array.isArray(resolved.oneOf) ? (resolved.oneOf as Schema[]) : []),
    ...(Array.isArray(resolved.anyOf) ? (resolved.anyOf as Schema[]) : []),
  ];
  if (branches.length > 0) {
    const typed = branches.map((branch) => ({
      type: fixedType(branch, ir),
      schema: namedSchema(branch, ir),
    }));
    if (typed.every((entry) => entry.type !== undefined)) {
      return typed.map(({ type, schema: name }) =>
        name === undefined ? { type: type! } : { type: type!, schema: name },
      );
    }
  }
  const property = resolve((resolved.properties as Record<string, Schema> | undefined)?.type, ir);
  if (property && Array.isArray(property.enum) && property.enum.every((v) => typeof v === 'string')) {
    return (property.enum as string[]).map((type) => ({ type }));
  }
  return [];
}

/**
 * Handler names for event types, from the last dotted segment
 * (`org.camaraproject.webrtc-events.v0.session-status` → `onSessionStatus`);
 * when two types share it, more segments are taken for those
 * (`v0.session-status` → `onV0SessionStatus`).
 */
export function eventHandlerNames(types: readonly string[]): string[] {
  const segments = types.map((type) => type.split('.').filter(Boolean));
  const depth = types.map(() => 1);
  const name = (i: number) => `on${pascalCase(segments[i]!.slice(-depth[i]!).join('-')) || 'Event'}`;
  for (let round = 0; round < 16; round++) {
    const names = types.map((_, i) => name(i));
    const clashing = names.map((n, i) => names.indexOf(n) !== i || names.lastIndexOf(n) !== i);
    if (!clashing.some(Boolean)) return names;
    clashing.forEach((clash, i) => {
      if (clash && depth[i]! < segments[i]!.length) depth[i]!++;
    });
  }
  return types.map((_, i) => name(i));
}

/** `parcelDelivered` → `onParcelDelivered`; an id already shaped `onX` is kept. */
export function callbackHandlerName(id: string): string {
  return /^on[A-Z0-9]/.test(id) && isIdentifier(id) ? id : `on${pascalCase(id) || 'Callback'}`;
}

const RESERVED_METHODS = new Set(['drain', 'close', 'constructor', 'toString', 'valueOf', 'hasOwnProperty']);

/** Makes `name` unique among `taken` with a numeric suffix, and takes it. */
function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}${n}`;
  taken.add(candidate);
  return candidate;
}

/** Everything the emitter needs about the document's callbacks, names made unique. */
export function callbackModels(ir: Pick<ApiDocument, 'callbacks' | 'schemas'>): CallbackModel[] {
  const methods = new Set<string>();
  const handlers = new Set<string>();
  return ir.callbacks.map((callback) => {
    const content = pickContent(callback.requestBody?.content ?? []);
    const mediaType = content?.mediaType ?? null;
    const cloudEvents = mediaType?.toLowerCase() === CLOUDEVENTS_MEDIA_TYPE;
    let base = isIdentifier(callback.id) ? callback.id : camelCase(callback.id) || 'callback';
    if (RESERVED_METHODS.has(base)) base = `${base}Callback`;
    const methodName = unique(base, methods);
    const types = cloudEvents ? cloudEventTypes(content?.schema, ir) : [];
    const model: CallbackModel = { callback, methodName, mediaType, cloudEvents, events: [] };
    if (types.length > 0) {
      const names = eventHandlerNames(types.map((t) => t.type));
      model.events = types.map((t, i) => ({ ...t, handler: unique(names[i]!, handlers) }));
    } else {
      model.handler = unique(callbackHandlerName(callback.id), handlers);
    }
    return model;
  });
}
