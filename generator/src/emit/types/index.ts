import type ts from 'typescript';
import type { CallbackOperation } from '../../ir/types.js';
import { pascalCase } from '../../parse/build-ir.js';
import type { EmitDocument, Emitter, GeneratedFile } from '../emitter.js';
import { generatedHeader } from '../header.js';
import {
  exportInterface,
  exportTypeAlias,
  indexedAccess,
  isIdentifier,
  printNodes,
  property,
  typeLiteral,
  withJsDoc,
} from '../ts-ast.js';
import { transformCallback, transformDocument } from './openapi-ts.js';
import { payloadType, requestType, responseType } from './operation-types.js';

const RESERVED = new Set(['paths', 'webhooks', 'components', '$defs', 'operations', 'callbacks']);

export function typesFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.types.gen.ts`;
}

/** Names of the per-operation types, unique within the file. */
export function operationTypeNames(doc: EmitDocument): Map<string, OperationTypeNames> {
  const taken = new Set([...RESERVED, ...Object.keys(doc.ir.schemas)]);
  const names = new Map<string, OperationTypeNames>();
  for (const op of [...doc.ir.operations, ...doc.ir.callbacks]) {
    const base = pascalCase(op.id);
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

export interface OperationTypeNames {
  request: string;
  response: string;
  /** Callbacks and webhooks only: the request body the provider sends. */
  payload?: string;
}

function emitDocument(doc: EmitDocument): GeneratedFile {
  const { ir } = doc;
  const { nodes, ctx } = transformDocument(ir);
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

  for (const name of Object.keys(ir.schemas)) {
    if (!isIdentifier(name) || RESERVED.has(name) || types.includes(name)) continue;
    out.push(exportTypeAlias(name, indexedAccess('components', 'schemas', name)));
    types.push(name);
  }

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
