import {
  type GlobalContext,
  type OpenAPI3,
  type OperationObject,
  resolveRef,
  scanDiscriminators,
  transformOperationObject,
  transformSchema,
} from 'openapi-typescript';
import type ts from 'typescript';
import type { ApiDocument, CallbackOperation, Schema } from '../../ir/types.js';
import { uniqueName } from '../../naming/index.js';
import { escapeToken, getAtPointer } from '../../parse/pointer.js';
import { discriminatorOf } from '../validators/schema.js';

/**
 * openapi-typescript's transform, run on the document telegate already
 * bundled and checked (so its own fetch/bundle/lint pass is skipped). The
 * options are openapi-typescript's defaults.
 */
export function createOpenApiTsContext(document: OpenAPI3): GlobalContext {
  return {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    discriminators: scanDiscriminators(document, { silent: true }),
    // An object schema without properties accepts any object, not none.
    emptyObjectsUnknown: true,
    enum: false,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: false,
    immutable: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    // Only used by openapi-typescript's loader, which this path does not call.
    redoc: undefined as unknown as GlobalContext['redoc'],
    silent: true,
    transform: undefined,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve<T>($ref: string): T | undefined {
      return resolveRef(document, $ref, { silent: true }) as T | undefined;
    },
  };
}

/** `paths`, `webhooks`, `components`, `$defs` and `operations`, as openapi-typescript emits them. */
export function transformDocument(ir: ApiDocument): { nodes: ts.Node[]; ctx: GlobalContext } {
  const document = documentForOpenApiTs(ir);
  const ctx = createOpenApiTsContext(document);
  return { nodes: transformSchema(document, ctx), ctx };
}

/** The members of one callback's operation type (`parameters`, `requestBody`, `responses`). */
export function transformCallback(
  ir: ApiDocument,
  callback: CallbackOperation,
  ctx: GlobalContext,
): ts.TypeElement[] {
  const pathItemPointer = callback.pointer.slice(0, callback.pointer.lastIndexOf('/'));
  const pathItem = getAtPointer(ir.bundled, pathItemPointer) as { parameters?: unknown[] } | undefined;
  const operation = getAtPointer(ir.bundled, callback.pointer) as OperationObject;
  const parameters = [...(pathItem?.parameters ?? []), ...(operation.parameters ?? [])] as NonNullable<
    OperationObject['parameters']
  >;
  return transformOperationObject({ ...operation, parameters }, { path: `#${callback.pointer}`, ctx });
}

/**
 * The document as openapi-typescript should see it: operations keyed by
 * telegate's operation names (`Operation.id`), and discriminated base schemas
 * made unions (see `polymorphicBases`).
 */
function documentForOpenApiTs(ir: ApiDocument): OpenAPI3 {
  const copy = structuredClone(ir.bundled);
  for (const op of ir.operations) {
    const written = getAtPointer(copy, op.pointer) as OperationObject;
    if (typeof written.operationId === 'string') written.operationId = op.id;
  }
  polymorphicBases(copy);
  return copy as unknown as OpenAPI3;
}

const isObject = (value: unknown): value is Schema =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The `allOf` inheritance pattern: a base schema with a discriminator whose
 * `mapping` names schemas that extend it. A property typed as the base takes
 * any of them (`sinkCredential: { credentialType: 'ACCESSTOKEN', accessToken }`),
 * so the base's name becomes the union of the mapped schemas, and their
 * `allOf` refer to the base's own fields under `<Base>Base`, which keeps the
 * discriminator so each subtype's discriminator property is its literal.
 */
export function polymorphicBases(document: Record<string, unknown>): void {
  const components = document.components;
  const schemas = isObject(components) && isObject(components.schemas) ? components.schemas : undefined;
  if (!schemas) return;
  const refOf = (name: string) => `#/components/schemas/${escapeToken(name)}`;
  const taken = new Set(Object.keys(schemas));
  // Base schema name → the name its own fields move to, and the union that takes its place.
  const bases = new Map<string, { baseName: string; union: Schema }>();
  for (const [name, schema] of Object.entries(schemas)) {
    if (!isObject(schema) || Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) continue;
    const info = discriminatorOf(schema);
    if (!info) continue;
    const targets = [...new Set(Object.values(info.mapping))].filter((target) => isObject(schemas[target]));
    if (!targets.some((target) => target !== name)) continue;
    const baseName = uniqueName(`${name}Base`, taken);
    const union: Schema = {
      oneOf: targets.map((target) => ({ $ref: refOf(target === name ? baseName : target) })),
    };
    for (const key of ['description', 'title', 'deprecated', 'nullable']) {
      if (schema[key] !== undefined) union[key] = schema[key];
    }
    bases.set(name, { baseName, union });
  }
  for (const [name, { baseName, union }] of bases) {
    schemas[baseName] = schemas[name];
    schemas[name] = union;
  }
  // `allOf: [Base]` extends the base: it refers to the base's own fields, not to the union.
  const byBaseRef = new Map([...bases].map(([name, { baseName }]) => [refOf(name), refOf(baseName)]));
  for (const [name, schema] of Object.entries(schemas)) {
    if (!isObject(schema) || !Array.isArray(schema.allOf)) continue;
    schemas[name] = {
      ...schema,
      allOf: schema.allOf.map((member) =>
        isObject(member) && typeof member.$ref === 'string' && byBaseRef.has(member.$ref)
          ? { ...member, $ref: byBaseRef.get(member.$ref) }
          : member,
      ),
    };
  }
}
