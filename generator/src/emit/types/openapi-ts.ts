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
import type { ApiDocument, CallbackOperation } from '../../ir/types.js';
import { getAtPointer } from '../../parse/pointer.js';

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
 * openapi-typescript keys `operations` by operationId; when the document
 * reuses one, give the copy it sees the unique names telegate derived.
 */
function documentForOpenApiTs(ir: ApiDocument): OpenAPI3 {
  const renamed = ir.operations.filter(
    (op) =>
      op.idSource === 'derived' &&
      typeof (getAtPointer(ir.bundled, op.pointer) as OperationObject).operationId === 'string',
  );
  if (renamed.length === 0) return ir.bundled as unknown as OpenAPI3;
  const copy = structuredClone(ir.bundled);
  for (const op of renamed) (getAtPointer(copy, op.pointer) as OperationObject).operationId = op.id;
  return copy as unknown as OpenAPI3;
}
