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
  call,
  exportInterface,
  importDeclaration,
  indexedAccess,
  printNodes,
  property,
  typeLiteral,
  typeRef,
  withJsDoc,
} from '../ts-ast.js';
import { typesFileName } from '../types/index.js';
import { validatorsFileName } from '../validators/index.js';

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

  const validating = options.emitters.includes('validators');
  const optionsType = validating
    ? f.createIntersectionTypeNode([
        typeRef('ClientOptions'),
        typeLiteral([
          withJsDoc(property('validate', typeRef('ValidateOption'), true), [
            'Validate requests and/or responses (off by default).',
          ]),
        ]),
      ])
    : typeRef('ClientOptions');
  const nodes: ts.Node[] = [
    importDeclaration('openapi-fetch', [{ name: 'Client' }], { typeOnly: true }),
    importDeclaration(`${options.runtimePackage}/client`, [
      { name: 'ClientOptions', typeOnly: true },
      { name: 'createOperationClient' },
      { name: 'OperationInit', typeOnly: true },
      { name: 'OperationResult', typeOnly: true },
      ...(validating ? [{ name: 'ValidateOption', typeOnly: true }] : []),
    ]),
    importDeclaration(generatedModule(options, 'types', typesFileName(doc)), [{ name: 'paths' }], {
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
        [f.createParameterDeclaration(undefined, undefined, 'options', undefined, optionsType)],
        typeRef(names.interface),
        f.createBlock(
          [
            f.createReturnStatement(
              call(
                'createOperationClient',
                [
                  f.createIdentifier('options'),
                  f.createObjectLiteralExpression(
                    [
                      f.createPropertyAssignment('basePath', f.createIdentifier(names.basePath)),
                      f.createPropertyAssignment('routes', f.createIdentifier(names.routes)),
                      ...(validating
                        ? [
                            f.createPropertyAssignment(
                              'validators',
                              f.createArrowFunction(
                                undefined,
                                undefined,
                                [],
                                undefined,
                                undefined,
                                f.createCallExpression(
                                  f.createToken(ts.SyntaxKind.ImportKeyword) as ts.Expression,
                                  undefined,
                                  [
                                    f.createStringLiteral(
                                      generatedModule(options, 'validators', validatorsFileName(doc)),
                                    ),
                                  ],
                                ),
                              ),
                            ),
                          ]
                        : []),
                    ],
                    true,
                  ),
                ],
                [typeRef(names.interface)],
              ),
            ),
          ],
          true,
        ),
      ),
      [
        `Creates a client for ${ir.title}.`,
        `Pass \`baseUrl\` (full URL, base path included) or \`apiRoot\` (scheme and host; \`${basePath}\` is appended), and optionally \`token\`, \`fetch\`, \`correlator\`, \`headers\`${validating ? '' : ''}.`,
        validating
          ? '`validate: true` checks each request before sending and each response on receipt against the API description.'
          : undefined,
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
