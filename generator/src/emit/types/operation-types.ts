import ts from 'typescript';
import type { CallbackOperation, MediaContent, Operation, ParameterLocation } from '../../ir/types.js';
import {
  exportInterface,
  exportTypeAlias,
  indexedAccess,
  literalKey,
  property,
  typeLiteral,
  typeRef,
  union,
  withJsDoc,
} from '../ts-ast.js';

const f = ts.factory;

/** `paths["/sessions"]["post"]` for an operation, `callbacks["postNotification"]` for a callback. */
export function operationTypeRoot(op: Operation | CallbackOperation): ts.TypeNode {
  return 'kind' in op ? indexedAccess('callbacks', op.id) : indexedAccess('paths', op.path, op.method);
}

/** The key openapi-typescript uses for a status: a number for `201`, the string for `4XX`/`default`. */
export function statusKey(status: string): string | number {
  return /^\d{3}$/.test(status) ? Number(status) : status;
}

/** The TypeScript type of `status` in a response union member. */
export function statusType(status: string): ts.TypeNode {
  return /^\d{3}$/.test(status)
    ? f.createLiteralTypeNode(f.createNumericLiteral(Number(status)))
    : f.createKeywordTypeNode(ts.SyntaxKind.NumberKeyword);
}

function contentUnion(base: ts.TypeNode, content: MediaContent[]): ts.TypeNode {
  return union(
    content.map((media) =>
      f.createIndexedAccessTypeNode(indexedAccess(base, 'content'), literalKey(media.mediaType)),
    ),
  );
}

const PARAM_KEYS: Record<Exclude<ParameterLocation, 'cookie'>, string> = {
  path: 'params',
  query: 'query',
  header: 'headers',
};

/**
 * `XxxRequest`: what the operation takes, `{ params, query, headers, body }`,
 * each present only when documented and optional unless something in it is required.
 */
export function requestType(name: string, op: Operation | CallbackOperation): ts.Node {
  const root = operationTypeRoot(op);
  const members: ts.TypeElement[] = [];
  for (const [location, key] of Object.entries(PARAM_KEYS) as [
    Exclude<ParameterLocation, 'cookie'>,
    string,
  ][]) {
    const parameters = op.parameters[location];
    if (parameters.length === 0) continue;
    const required = parameters.some((p) => p.required);
    const type = typeRef('NonNullable', indexedAccess(root, 'parameters', location));
    members.push(property(key, type, !required));
  }
  if (op.requestBody && op.requestBody.content.length > 0) {
    const body = typeRef('NonNullable', indexedAccess(root, 'requestBody'));
    members.push(property('body', contentUnion(body, op.requestBody.content), !op.requestBody.required));
  }
  return withJsDoc(exportInterface(name, members), [
    `Input of \`${op.id}\` (${op.method.toUpperCase()} ${op.path}).`,
  ]);
}

/** `XxxResponse`: a union with one member per documented status. */
export function responseType(name: string, op: Operation | CallbackOperation): ts.Node {
  const root = operationTypeRoot(op);
  const members = op.responses.map((response) => {
    const base = indexedAccess(root, 'responses', statusKey(response.status));
    const fields: ts.TypeElement[] = [property('status', statusType(response.status))];
    if (response.content.length > 0) fields.push(property('body', contentUnion(base, response.content)));
    else fields.push(property('body', f.createKeywordTypeNode(ts.SyntaxKind.NeverKeyword), true));
    if (response.headers.length > 0) {
      const required = response.headers.some((h) => h.required);
      fields.push(property('headers', indexedAccess(base, 'headers'), !required));
    }
    return typeLiteral(fields);
  });
  return withJsDoc(exportTypeAlias(name, union(members)), [
    `Documented responses of \`${op.id}\`, one member per status.`,
  ]);
}

/** `XxxPayload`: the body a callback or webhook delivers (every documented media type). */
export function payloadType(name: string, callback: CallbackOperation): ts.Node {
  const body = typeRef('NonNullable', indexedAccess(operationTypeRoot(callback), 'requestBody'));
  return withJsDoc(exportTypeAlias(name, contentUnion(body, callback.requestBody?.content ?? [])), [
    `What the provider sends to the consumer in \`${callback.id}\`.`,
  ]);
}
