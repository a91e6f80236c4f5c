import { createResponseSerializers } from '@telegate/runtime/server';
import type { ResponseSchemas } from '@telegate/runtime/validation';
import ts from 'typescript';
import {
  type EmitDocument,
  type EmitOptions,
  type Emitter,
  type GeneratedFile,
  generatedModule,
} from '../emitter.js';
import { generatedHeader } from '../header.js';
import {
  call,
  exportConst,
  importDeclaration,
  jsonExpression,
  printNodes,
  property,
  propertyName,
  typeLiteral,
  typeRef,
  withJsDoc,
} from '../ts-ast.js';
import { operationTypeNames, typesFileName } from '../types/index.js';
import { type CompiledValidators, compileValidators } from './compile.js';

const f = ts.factory;

export function validatorsFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.validators.gen.ts`;
}

function table(entries: [string, ts.Expression][]): ts.ObjectLiteralExpression {
  return f.createObjectLiteralExpression(
    entries.map(([key, value]) => f.createPropertyAssignment(propertyName(key), value)),
    true,
  );
}

function tableType(keys: string[], type: (key: string) => ts.TypeNode): ts.TypeLiteralNode {
  return typeLiteral(keys.map((key) => property(key, type(key), false, true)));
}

/** `$ref`s in a schema, in order of appearance. */
function refsOf(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsOf(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.push(item);
      else refsOf(item, found);
    }
  }
  return found;
}

/** The response body schemas of every operation, with only the named schemas they reach. */
function responseSchemas(compiled: CompiledValidators): ResponseSchemas {
  const { id, definitions } = compiled.responseDefinitions;
  const prefix = `${id}#/definitions/`;
  const operations: Record<string, Record<string, unknown>> = {};
  const reached = new Set<string>();
  const pending: unknown[] = [];
  for (const [operationId, entries] of compiled.responses) {
    const bodies = entries.filter((entry) => entry.bodySchema !== undefined);
    if (bodies.length === 0) continue;
    operations[operationId] = Object.fromEntries(bodies.map((entry) => [entry.status, entry.bodySchema]));
    pending.push(...bodies.map((entry) => entry.bodySchema));
  }
  while (pending.length > 0) {
    for (const ref of refsOf(pending.pop())) {
      if (!ref.startsWith(prefix)) continue;
      const name = decodeURIComponent(ref.slice(prefix.length));
      if (reached.has(name) || !(name in definitions)) continue;
      reached.add(name);
      pending.push(definitions[name]);
    }
  }
  const used = Object.keys(definitions).filter((name) => reached.has(name));
  return { id, definitions: Object.fromEntries(used.map((name) => [name, definitions[name]])), operations };
}

function emitDocument(doc: EmitDocument, options: EmitOptions): GeneratedFile {
  const { ir } = doc;
  const compiled = compileValidators(ir);
  const names = operationTypeNames(doc);
  const operationIds = ir.operations.map((op) => op.id);
  const requestEntries = compiled.requests.filter((entry) => !('kind' in entry.op));
  const bodyEntries = requestEntries.filter((entry) => entry.bodyValidator);

  const helpers = (['deepEqual', 'formatCheckers', 'ucs2length'] as const).filter((name) =>
    compiled.imports.has(name),
  );
  const imports = [
    importDeclaration(`${options.runtimePackage}/validation`, [
      { name: 'createPayloadValidator' },
      { name: 'createRequestParser' },
      { name: 'createRequestValidator' },
      { name: 'createResponseValidator' },
      { name: 'PayloadValidator', typeOnly: true },
      { name: 'RequestParser', typeOnly: true },
      { name: 'RequestValidator', typeOnly: true },
      { name: 'ResponseSchemas', typeOnly: true },
      { name: 'ResponseValidator', typeOnly: true },
      ...helpers.map((name) => ({ name })),
    ]),
  ];
  // Ajv's own CommonJS helpers, only for the rare schema that needs one.
  if (compiled.imports.has('ajvRuntime'))
    imports.push(importDeclaration(`${options.runtimePackage}/ajv-runtime`, [{ name: 'ajvRuntime' }]));
  const requestTypeNames = requestEntries.map((entry) => names.get(entry.op.id)!.request);
  if (requestTypeNames.length > 0) {
    imports.push(
      importDeclaration(
        generatedModule(options, 'types', typesFileName(doc)),
        requestTypeNames.map((name) => ({ name })),
        { typeOnly: true },
      ),
    );
  }

  const exported = [
    withJsDoc(
      exportConst(
        'requestParsers',
        tableType(operationIds, (id) => typeRef('RequestParser', typeRef(names.get(id)!.request))),
        table(
          requestEntries.map((entry) => [
            entry.op.id,
            call('createRequestParser', [f.createIdentifier(entry.validator), jsonExpression(entry.plan)]),
          ]),
        ),
      ),
      [
        'Per operation: converts path, query and header strings per their schemas, validates the request, and returns',
        '`{ ok: true, value }` with the converted copy, or `{ ok: false, error }` with a CAMARA `400 INVALID_ARGUMENT`.',
      ],
    ),
    withJsDoc(
      exportConst(
        'requestValidators',
        tableType(operationIds, () => typeRef('RequestValidator')),
        table(
          operationIds.map((id) => [
            id,
            call('createRequestValidator', [
              f.createPropertyAccessExpression(f.createIdentifier('requestParsers'), id),
            ]),
          ]),
        ),
      ),
      [
        'Per operation: `null` when the request is valid, else a CAMARA `ErrorInfo` naming the failing field.',
      ],
    ),
    withJsDoc(
      exportConst(
        'requestBodyValidators',
        tableType(
          bodyEntries.map((entry) => entry.op.id),
          () => typeRef('PayloadValidator'),
        ),
        table(
          bodyEntries.map((entry) => [
            entry.op.id,
            call('createPayloadValidator', [f.createIdentifier(entry.bodyValidator!)]),
          ]),
        ),
      ),
      ['Per operation with a JSON body: `null` when the body is valid, else every violation.'],
    ),
    withJsDoc(
      exportConst(
        'responseValidators',
        tableType(operationIds, () => typeRef('ResponseValidator')),
        table(
          operationIds.map((id) => [
            id,
            call('createResponseValidator', [
              table(
                (compiled.responses.get(id) ?? []).map((response) => [
                  response.status,
                  f.createObjectLiteralExpression([
                    f.createPropertyAssignment('validate', f.createIdentifier(response.validator)),
                    f.createPropertyAssignment('header', jsonExpression(response.header)),
                    f.createPropertyAssignment(
                      'hasBody',
                      response.hasBody ? f.createTrue() : f.createFalse(),
                    ),
                  ]),
                ]),
              ),
            ]),
          ]),
        ),
      ),
      [
        'Per operation: `(status, body, headers)` → `null` when the response is documented and valid, else every violation.',
      ],
    ),
    withJsDoc(
      exportConst(
        'callbackValidators',
        tableType(
          compiled.callbacks.filter((c) => c.validator).map((c) => c.callback.id),
          () => typeRef('PayloadValidator'),
        ),
        table(
          compiled.callbacks
            .filter((c) => c.validator)
            .map((c) => [c.callback.id, call('createPayloadValidator', [f.createIdentifier(c.validator!)])]),
        ),
      ),
      ['Per callback/webhook: `null` when the payload is valid, else every violation.'],
    ),
  ];

  // The routers serialize documented bodies with `responseSchemas`. It is emitted with every validators file,
  // so routers generated by another run (importing these validators from a package) find it too.
  const warnings: string[] = [];
  const schemas = responseSchemas(compiled);
  createResponseSerializers(schemas, ({ operationId, status, error }) => {
    const reason = error instanceof Error ? error.message : String(error);
    warnings.push(
      `${ir.source}: ${operationId} ${status}: fast-json-stringify cannot compile the response body schema (${reason}); the routers write this body with JSON.stringify, properties the document does not name included`,
    );
  });
  exported.push(
    withJsDoc(exportConst('responseSchemas', typeRef('ResponseSchemas'), jsonExpression(schemas)), [
      'Per operation and documented status: the JSON Schema of the JSON response body (and the named schemas it refers to),',
      'from which the routers compile their response serializers.',
    ]),
  );

  const contents = [
    generatedHeader([ir.source]),
    '// @ts-nocheck: the validator functions below are Ajv standalone output (plain JavaScript);',
    '// the exports at the end carry explicit types.',
    '',
    printNodes(imports),
    compiled.code,
    '',
    printNodes(exported),
  ].join('\n');
  return {
    path: validatorsFileName(doc),
    contents,
    exports: {
      values: [
        'requestParsers',
        'requestValidators',
        'requestBodyValidators',
        'responseValidators',
        'responseSchemas',
        'callbackValidators',
      ],
      types: [],
    },
    namespace: `${doc.apiName}Validators`,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

export const validatorsEmitter: Emitter = {
  name: 'validators',
  requires: ['types'],
  emit(documents, options) {
    return documents.map((doc) => emitDocument(doc, options));
  },
};
