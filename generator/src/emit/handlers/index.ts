import ts from 'typescript';
import type { Operation } from '../../ir/types.js';
import { camelCase } from '../../parse/build-ir.js';
import {
  type EmitDocument,
  type EmitOptions,
  type Emitter,
  type GeneratedFile,
  generatedModule,
} from '../emitter.js';
import { generatedHeader } from '../header.js';
import {
  exportConst,
  importDeclaration,
  jsonExpression,
  printNodes,
  propertyName,
  typeRef,
  withJsDoc,
} from '../ts-ast.js';
import { operationTypeNames, typesFileName } from '../types/index.js';

const f = ts.factory;

export function handlersFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.handlers.gen.ts`;
}

/** Exported names of a document's handlers file, unique across documents (no namespace needed). */
export function handlersNames(doc: EmitDocument) {
  const lower = camelCase(doc.apiName);
  return {
    interface: `${doc.apiName}Handlers`,
    operations: `${lower}Operations`,
    mountPath: `${lower}MountPath`,
  };
}

/** `required` when every security alternative names a scheme, `optional` with an empty one, else `none`. */
export function authMode(op: Operation): 'required' | 'optional' | 'none' {
  if (op.security.length === 0) return 'none';
  return op.security.every((requirement) => requirement.schemes.length > 0) ? 'required' : 'optional';
}

export function operationScopes(op: Operation): string[] {
  return [...new Set(op.security.flatMap((r) => r.schemes.flatMap((s) => s.scopes)))];
}

/** One row of the operation table the routers read (`OperationDescriptor` of the runtime). */
export function operationDescriptor(op: Operation) {
  const content = op.requestBody?.content ?? [];
  return {
    method: op.method.toUpperCase(),
    path: op.path,
    auth: authMode(op),
    scopes: operationScopes(op),
    headers: op.parameters.header.map((p) => p.name),
    hasBody: content.length > 0,
    bodyRequired: content.length > 0 && op.requestBody?.required === true,
    mediaTypes: content.map((media) => media.mediaType.toLowerCase()),
  };
}

/** `createRegistration(input: HandlerInput<CreateRegistrationRequest, Auth, Req>): HandlerReturn<CreateRegistrationResponse>` */
export function handlerMethod(
  op: Operation,
  names: { request: string; response: string },
): ts.MethodSignature {
  const auth =
    authMode(op) === 'none' ? f.createKeywordTypeNode(ts.SyntaxKind.UndefinedKeyword) : typeRef('Auth');
  const method = f.createMethodSignature(
    undefined,
    propertyName(op.id),
    undefined,
    undefined,
    [
      f.createParameterDeclaration(
        undefined,
        undefined,
        'input',
        undefined,
        typeRef('HandlerInput', typeRef(names.request), auth, typeRef('Req')),
      ),
    ],
    typeRef('HandlerReturn', typeRef(names.response)),
  );
  const scopes = operationScopes(op);
  return withJsDoc(method, [
    op.summary,
    `\`${op.method.toUpperCase()} ${op.path}\`${
      authMode(op) === 'none'
        ? ', no authorization'
        : scopes.length > 0
          ? `, scope${scopes.length > 1 ? 's' : ''} ${scopes.map((s) => `\`${s}\``).join(', ')}`
          : ''
    }.`,
    op.deprecated ? '@deprecated' : undefined,
  ]);
}

function emitDocument(doc: EmitDocument, options: EmitOptions): GeneratedFile {
  const { ir } = doc;
  const names = handlersNames(doc);
  const typeNames = operationTypeNames(doc);
  const basePath = ir.servers[0]?.basePath ?? '';
  const imported = ir.operations.flatMap((op) => {
    const entry = typeNames.get(op.id)!;
    return [entry.request, entry.response];
  });

  const nodes: ts.Node[] = [
    importDeclaration(
      `${options.runtimePackage}/server`,
      [{ name: 'HandlerInput' }, { name: 'HandlerReturn' }, { name: 'OperationTable' }],
      { typeOnly: true },
    ),
  ];
  if (imported.length > 0) {
    nodes.push(
      importDeclaration(
        generatedModule(options, 'types', typesFileName(doc)),
        imported.map((name) => ({ name })),
        { typeOnly: true },
      ),
    );
  }
  nodes.push(
    withJsDoc(exportConst(names.mountPath, undefined, f.createStringLiteral(basePath)), [
      `Where to mount the router or plugin: the path of the document's first server URL.`,
    ]),
    withJsDoc(
      exportConst(
        names.operations,
        undefined,
        f.createSatisfiesExpression(
          f.createAsExpression(
            f.createObjectLiteralExpression(
              ir.operations.map((op) =>
                f.createPropertyAssignment(propertyName(op.id), jsonExpression(operationDescriptor(op))),
              ),
              true,
            ),
            typeRef('const'),
          ),
          typeRef('OperationTable'),
        ),
      ),
      [
        'Method, path, authorization, scopes, documented headers and request body of each operation, by operationId.',
      ],
    ),
    withJsDoc(
      f.createInterfaceDeclaration(
        [f.createModifier(ts.SyntaxKind.ExportKeyword)],
        names.interface,
        [
          f.createTypeParameterDeclaration(
            undefined,
            'Auth',
            undefined,
            f.createKeywordTypeNode(ts.SyntaxKind.UnknownKeyword),
          ),
          f.createTypeParameterDeclaration(
            undefined,
            'Req',
            undefined,
            f.createKeywordTypeNode(ts.SyntaxKind.UnknownKeyword),
          ),
        ],
        undefined,
        ir.operations.map((op) => handlerMethod(op, typeNames.get(op.id)!)),
      ),
      [
        `The implementation of ${ir.title}: one method per operationId.`,
        'Each gets the validated request (`params`, `query`, documented `headers`, `body`), the `correlator`, `auth` (what `authenticate` returned) and the framework `request`, and returns one documented response `{ status, body, headers? }`, or throws an `ApiError` (`NotFoundError`, `ConflictError`, ...).',
        '`Auth` is what your `authenticate` hook returns; `Req` the framework request type.',
      ],
    ),
  );

  return {
    path: handlersFileName(doc),
    contents: `${generatedHeader([ir.source])}\n${printNodes(nodes)}`,
    exports: { values: [names.mountPath, names.operations], types: [names.interface] },
    aliases: [
      { name: names.interface, alias: 'Handlers', typeOnly: true },
      { name: names.mountPath, alias: 'mountPath' },
    ],
  };
}

export const handlersEmitter: Emitter = {
  name: 'handlers',
  requires: ['types'],
  emit(documents, options) {
    return documents.map((doc) => emitDocument(doc, options));
  },
};
