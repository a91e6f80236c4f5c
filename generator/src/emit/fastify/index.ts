import type { EmitDocument, Emitter } from '../emitter.js';
import { handlersNames } from '../handlers/index.js';
import { routerFile } from '../handlers/router.js';
import { importDeclaration, typeRef } from '../ts-ast.js';

export function fastifyFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.fastify.gen.ts`;
}

export function fastifyFactoryName(doc: EmitDocument): string {
  return `create${doc.apiName}Plugin`;
}

export const fastifyEmitter: Emitter = {
  name: 'fastify',
  requires: ['types', 'validators', 'handlers'],
  emit(documents, options) {
    return documents.map((doc) => {
      const names = handlersNames(doc);
      return routerFile(doc, options, {
        factory: fastifyFactoryName(doc),
        alias: 'createPlugin',
        fileName: fastifyFileName(doc),
        frameworkImports: [
          importDeclaration('fastify', [{ name: 'FastifyPluginAsync' }, { name: 'FastifyRequest' }], {
            typeOnly: true,
          }),
        ],
        glue: 'createFastifyPlugin',
        glueModule: 'fastify',
        leadingArgs: [],
        requestType: typeRef('FastifyRequest'),
        returnType: typeRef('FastifyPluginAsync'),
        doc: [
          `A Fastify 5 plugin serving ${doc.ir.title} with \`handlers\`; register it under \`${names.mountPath}\`: \`app.register(${fastifyFactoryName(doc)}(handlers, { authenticate }), { prefix: ${names.mountPath} })\`.`,
          'Requests are validated (400 `INVALID_ARGUMENT`), `authenticate` gets the scopes of each operation (throw `UnauthenticatedError` / `PermissionDeniedError`), `x-correlator` is echoed, results are checked against the documented responses unless `validateResponses: false` (off by default in production), documented JSON bodies are written by their schema (properties it does not name are left out), and thrown `ApiError`s become CAMARA `ErrorInfo` responses.',
          'Throws at once when a handler method is missing, unless `allowPartial: true` (then 501 `NOT_IMPLEMENTED`).',
        ],
      });
    });
  },
};
