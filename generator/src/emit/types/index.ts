import type ts from 'typescript';
import type { CallbackOperation } from '../../ir/types.js';
import { isSafeIdentifier, pascalCase, toIdentifier, uniqueName } from '../../naming/index.js';
import type { EmitDocument, Emitter, GeneratedFile } from '../emitter.js';
import { generatedHeader } from '../header.js';
import {
  exportInterface,
  exportTypeAlias,
  indexedAccess,
  printNodes,
  property,
  typeLiteral,
  withJsDoc,
} from '../ts-ast.js';
import { transformCallback, transformDocument } from './openapi-ts.js';
import { payloadType, requestType, responseType } from './operation-types.js';
import { hoistRecursiveSchemas } from './recursive.js';

const RESERVED = new Set(['paths', 'webhooks', 'components', '$defs', 'operations', 'callbacks']);

export function typesFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.types.gen.ts`;
}

/** Names of the per-operation types, unique within the file. */
export function operationTypeNames(doc: EmitDocument): Map<string, OperationTypeNames> {
  const taken = new Set([...RESERVED, ...Object.keys(doc.ir.schemas)]);
  const names = new Map<string, OperationTypeNames>();
  for (const op of [...doc.ir.operations, ...doc.ir.callbacks]) {
    const pascal = pascalCase(op.id);
    const base = /^[A-Za-z]/.test(pascal) ? pascal : `Operation${pascal}`;
    const wanted = (suffix: string) => [`${base}${suffix}`, `${base}Operation${suffix}`];
    const pick = (suffix: string) => {
      const name =
        wanted(suffix).find((candidate) => !taken.has(candidate)) ?? `${base}Operation${suffix}${taken.size}`;
      taken.add(name);
      return name;
    };
    const entry: OperationTypeNames = { request: pick('Request'), response: pick('Response') };
    if ('kind' in op) entry.payload = pick('Payload');
    names.set(op.id, entry);
  }
  return names;
}

/**
 * The alias the types file exports for each named schema: the schema's name
 * when it is a safe identifier, else one made by `naming` (`package` →
 * `package_`, `Foo.Bar` → `FooBar`); left out when that is taken.
 */
export function schemaTypeNames(doc: EmitDocument): Map<string, string> {
  const taken = new Set(RESERVED);
  for (const names of operationTypeNames(doc).values()) {
    for (const name of Object.values(names)) if (name !== undefined) taken.add(name);
  }
  const aliases = new Map<string, string>();
  const schemaNames = Object.keys(doc.ir.schemas);
  // Names that need no change first, so a made name never takes one of them.
  for (const name of schemaNames) {
    if (isSafeIdentifier(name) && !taken.has(name)) aliases.set(name, uniqueName(name, taken));
  }
  for (const name of schemaNames) {
    if (aliases.has(name)) continue;
    const made = toIdentifier(name, '');
    if (made !== '' && !taken.has(made)) aliases.set(name, uniqueName(made, taken));
  }
  return new Map(schemaNames.filter((n) => aliases.has(n)).map((n) => [n, aliases.get(n)!]));
}

export interface OperationTypeNames {
  request: string;
  response: string;
  /** Callbacks and webhooks only: the request body the provider sends. */
  payload?: string;
}

function emitDocument(doc: EmitDocument): GeneratedFile {
  const { ir } = doc;
  const { nodes: openApiTsNodes, ctx } = transformDocument(ir);
  const aliases = schemaTypeNames(doc);
  const internal = new Set([...RESERVED, ...aliases.values(), ...Object.keys(ir.schemas)]);
  for (const names of operationTypeNames(doc).values())
    for (const name of Object.values(names)) internal.add(name);
  const { nodes, hoisted } = hoistRecursiveSchemas(
    openApiTsNodes,
    (schema) => aliases.get(schema) ?? uniqueName(`RecursiveSchema${pascalCase(schema)}`, internal),
  );
  const out: ts.Node[] = [...nodes];
  const types: string[] = ['paths', 'webhooks', 'components', '$defs', 'operations'];

  // openapi-typescript emits nothing for 3.0 callbacks: one entry per callback/webhook, keyed by its (unique) id.
  const callbackMembers = ir.callbacks.map((callback) =>
    withJsDoc(property(callback.id, typeLiteral(transformCallback(ir, callback, ctx))), [
      callback.kind === 'callback'
        ? `Callback \`${callback.name}\` of \`${callback.parentOperationId}\`: ${callback.method.toUpperCase()} ${callback.expression}.`
        : `Webhook \`${callback.name}\` (${callback.method.toUpperCase()}).`,
      callback.summary,
    ]),
  );
  out.push(
    withJsDoc(exportInterface('callbacks', callbackMembers), [
      'Operations the API provider calls on the consumer (3.0 `callbacks` and 3.1 `webhooks`), by operation id.',
    ]),
  );
  types.push('callbacks');

  const opNames = operationTypeNames(doc);
  for (const op of [...ir.operations, ...ir.callbacks]) {
    const names = opNames.get(op.id)!;
    out.push(requestType(names.request, op), responseType(names.response, op));
    types.push(names.request, names.response);
    if (names.payload && op.requestBody && op.requestBody.content.length > 0) {
      out.push(payloadType(names.payload, op as CallbackOperation));
      types.push(names.payload);
    }
  }

  for (const [name, alias] of aliases) {
    types.push(alias);
    // A recursive schema's alias is declared above, as its definition.
    if (!hoisted.has(name)) out.push(exportTypeAlias(alias, indexedAccess('components', 'schemas', name)));
  }
  for (const [name, alias] of hoisted) if (!aliases.has(name)) types.push(alias);

  return {
    path: typesFileName(doc),
    contents: `${generatedHeader([ir.source])}\n${printNodes(out)}`,
    exports: { values: [], types },
    namespace: doc.apiName,
  };
}

export const typesEmitter: Emitter = {
  name: 'types',
  emit(documents) {
    return documents.map(emitDocument);
  },
};
