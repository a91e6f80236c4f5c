import ts from 'typescript';
import type { EmitDocument, Emitter } from '../emitter.js';
import { handlersNames } from '../handlers/index.js';
import { routerFile } from '../handlers/router.js';
import { importDeclaration } from '../ts-ast.js';

const f = ts.factory;

export function expressFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.express.gen.ts`;
}

export function expressFactoryName(doc: EmitDocument): string {
  return `create${doc.apiName}Router`;
}

const expressType = (name: string) =>
  f.createTypeReferenceNode(f.createQualifiedName(f.createIdentifier('express'), name));

export const expressEmitter: Emitter = {
  name: 'express',
  requires: ['types', 'validators', 'handlers'],
  emit(documents, options) {
    return documents.map((doc) => {
      const names = handlersNames(doc);
      return routerFile(doc, options, {
        factory: expressFactoryName(doc),
        alias: 'createRouter',
        fileName: expressFileName(doc),
        frameworkImports: [importDeclaration('express', [], { defaultName: 'express' })],
        glue: 'createExpressRouter',
        glueModule: 'express',
        leadingArgs: [f.createIdentifier('express')],
        requestType: expressType('Request'),
        returnType: expressType('Router'),
        doc: [
          `An Express 5 router serving ${doc.ir.title} with \`handlers\`; mount it at \`${names.mountPath}\`: \`app.use(${names.mountPath}, ${expressFactoryName(doc)}(handlers, { authenticate }))\`.`,
          'Requests are validated (400 `INVALID_ARGUMENT`), `authenticate` gets the scopes of each operation (throw `UnauthenticatedError` / `PermissionDeniedError`), `x-correlator` is echoed, results are checked against the documented responses unless `validateResponses: false` (off by default in production), documented JSON bodies are written by their schema (properties it does not name are left out), and thrown `ApiError`s become CAMARA `ErrorInfo` responses.',
          'Throws at once when a handler method is missing, unless `allowPartial: true` (then 501 `NOT_IMPLEMENTED`).',
        ],
      });
    });
  },
};
