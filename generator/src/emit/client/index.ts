import ts from 'typescript';
import type { Operation } from '../../ir/types.js';
import { camelCase } from '../../parse/build-ir.js';
import type { EmitDocument, EmitOptions, Emitter, GeneratedFile } from '../emitter.js';
import { generatedHeader } from '../header.js';
import {
  exportInterface,
  importDeclaration,
  indexedAccess,
  literalKey,
  printNodes,
  property,
  typeRef,
  withJsDoc,
} from '../ts-ast.js';
import { typesFileName } from '../types/index.js';

const f = ts.factory;
const EXPORT = [f.createModifier(ts.SyntaxKind.ExportKeyword)];
const CONST = ts.NodeFlags.Const;

export function clientFileName(doc: EmitDocument): string {
  return `${doc.fileBase}.client.gen.ts`;
}

export function clientNames(doc: EmitDocument) {
  const lower = camelCase(doc.apiName);
  return {
    factory: `create${doc.apiName}Client`,
    interface: `${doc.apiName}Client`,
    routes: `${lower}Routes`,
    basePath: `${lower}BasePath`,
  };
}

function constDeclaration(name: string, initializer: ts.Expression): ts.VariableStatement {
  return f.createVariableStatement(
    EXPORT,
    f.createVariableDeclarationList(
      [f.createVariableDeclaration(name, undefined, undefined, initializer)],
      CONST,
    ),
  );
}

/** Whether a call must pass an argument: a path parameter, a required parameter or a required body. */
export function initRequired(op: Operation): boolean {
  const { path, query, header, cookie } = op.parameters;
  return (
    path.length > 0 ||
    [...query, ...header, ...cookie].some((p) => p.required) ||
    op.requestBody?.required === true
  );
}

/** `createRegistration(init: OperationInit<paths["/sessions"]["post"]>): Promise<OperationResult<...>>` */
function operationMethod(op: Operation): ts.MethodSignature {
  const opType = indexedAccess('paths', op.path, op.method);
  return f.createMethodSignature(
    undefined,
    op.id,
    undefined,
    undefined,
    [
      f.createParameterDeclaration(
        undefined,
        undefined,
        'init',
        initRequired(op) ? undefined : f.createToken(ts.SyntaxKind.QuestionToken),
        typeRef('OperationInit', opType),
      ),
    ],
    typeRef('Promise', typeRef('OperationResult', opType)),
  );
}

function operationDoc(op: Operation): (string | undefined)[] {
  return [
    op.summary ?? `${op.method.toUpperCase()} ${op.path}`,
    `\`${op.method.toUpperCase()} ${op.path}\``,
    op.deprecated ? '@deprecated' : undefined,
  ];
}

function emitDocument(doc: EmitDocument, options: EmitOptions): GeneratedFile {
  const { ir } = doc;
  const names = clientNames(doc);
  const basePath = ir.servers[0]?.basePath ?? '';
  const mediaType = f.createTemplateLiteralType(f.createTemplateHead(''), [
    f.createTemplateLiteralTypeSpan(
      f.createKeywordTypeNode(ts.SyntaxKind.StringKeyword),
      f.createTemplateMiddle('/'),
    ),
    f.createTemplateLiteralTypeSpan(
      f.createKeywordTypeNode(ts.SyntaxKind.StringKeyword),
      f.createTemplateTail(''),
    ),
  ]);

  const nodes: ts.Node[] = [
    importDeclaration('openapi-fetch', [{ name: 'Client', typeOnly: true }], {
      defaultName: 'createFetchClient',
    }),
    importDeclaration(`${options.runtimePackage}/client`, [
      { name: 'bindOperations' },
      { name: 'ClientOptions', typeOnly: true },
      { name: 'createClientMiddleware' },
      { name: 'OperationInit', typeOnly: true },
      { name: 'OperationResult', typeOnly: true },
      { name: 'resolveBaseUrl' },
    ]),
    importDeclaration(`./${typesFileName(doc).replace(/\.ts$/, '.js')}`, [{ name: 'paths' }], {
      typeOnly: true,
    }),
    f.createTypeAliasDeclaration(undefined, 'MediaType', undefined, mediaType),
    withJsDoc(constDeclaration(names.basePath, f.createStringLiteral(basePath)), [
      `Path the API is served under, from the document's first server URL.`,
    ]),
    withJsDoc(
      constDeclaration(
        names.routes,
        f.createAsExpression(
          f.createObjectLiteralExpression(
            ir.operations.map((op) =>
              f.createPropertyAssignment(
                op.id,
                f.createArrayLiteralExpression([
                  f.createStringLiteral(op.method.toUpperCase()),
                  f.createStringLiteral(op.path),
                ]),
              ),
            ),
            true,
          ),
          typeRef('const'),
        ),
      ),
      ['Method and path of each operation, by operationId.'],
    ),
    withJsDoc(
      exportInterface(names.interface, [
        ...ir.operations.map((op) => withJsDoc(operationMethod(op), operationDoc(op))),
        withJsDoc(
          property('fetchClient', typeRef('Client', typeRef('paths'), typeRef('MediaType')), false, true),
          ['The openapi-fetch client the methods call: add middleware or make raw requests with it.'],
        ),
      ]),
      [`Typed client of ${ir.title}: one method per operationId.`],
    ),
    withJsDoc(
      f.createFunctionDeclaration(
        EXPORT,
        undefined,
        names.factory,
        undefined,
        [f.createParameterDeclaration(undefined, undefined, 'options', undefined, typeRef('ClientOptions'))],
        typeRef(names.interface),
        f.createBlock(
          [
            f.createVariableStatement(
              undefined,
              f.createVariableDeclarationList(
                [
                  f.createVariableDeclaration(
                    'fetchClient',
                    undefined,
                    undefined,
                    f.createCallExpression(
                      f.createIdentifier('createFetchClient'),
                      [typeRef('paths'), typeRef('MediaType')],
                      [
                        f.createObjectLiteralExpression([
                          f.createPropertyAssignment(
                            'baseUrl',
                            f.createCallExpression(f.createIdentifier('resolveBaseUrl'), undefined, [
                              f.createIdentifier('options'),
                              f.createIdentifier(names.basePath),
                            ]),
                          ),
                          f.createSpreadAssignment(
                            f.createParenthesizedExpression(
                              f.createConditionalExpression(
                                f.createPropertyAccessExpression(f.createIdentifier('options'), 'fetch'),
                                undefined,
                                f.createObjectLiteralExpression([
                                  f.createPropertyAssignment(
                                    'fetch',
                                    f.createPropertyAccessExpression(f.createIdentifier('options'), 'fetch'),
                                  ),
                                ]),
                                undefined,
                                f.createObjectLiteralExpression([]),
                              ),
                            ),
                          ),
                        ]),
                      ],
                    ),
                  ),
                ],
                CONST,
              ),
            ),
            f.createExpressionStatement(
              f.createCallExpression(
                f.createPropertyAccessExpression(f.createIdentifier('fetchClient'), 'use'),
                undefined,
                [
                  f.createCallExpression(f.createIdentifier('createClientMiddleware'), undefined, [
                    f.createIdentifier('options'),
                  ]),
                ],
              ),
            ),
            f.createReturnStatement(
              f.createCallExpression(
                f.createIdentifier('bindOperations'),
                [typeRef(names.interface)],
                [f.createIdentifier('fetchClient'), f.createIdentifier(names.routes)],
              ),
            ),
          ],
          true,
        ),
      ),
      [
        `Creates a client for ${ir.title}.`,
        `Pass \`baseUrl\` (full URL, base path included) or \`apiRoot\` (scheme and host; \`${basePath}\` is appended), and optionally \`token\`, \`fetch\`, \`correlator\`, \`headers\`.`,
      ],
    ),
  ];

  return {
    path: clientFileName(doc),
    contents: `${generatedHeader([ir.source])}\n${printNodes(nodes)}`,
    exports: { values: [names.factory, names.routes, names.basePath], types: [names.interface] },
    aliases: [{ name: names.factory, alias: 'createClient' }],
  };
}

export const clientEmitter: Emitter = {
  name: 'client',
  requires: ['types'],
  emit(documents, options) {
    return documents.map((doc) => emitDocument(doc, options));
  },
};
