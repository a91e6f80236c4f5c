import ts from 'typescript';
import { type EmitDocument, type EmitOptions, type GeneratedFile, generatedModule } from '../emitter.js';
import { generatedHeader } from '../header.js';
import { call, importDeclaration, printNodes, typeRef, withJsDoc } from '../ts-ast.js';
import { validatorsFileName } from '../validators/index.js';
import { authMode, handlersFileName, handlersNames } from './index.js';

const f = ts.factory;

/** What differs between the Express and Fastify router files. */
export interface RouterFlavor {
  /** `createXxxRouter` / `createXxxPlugin`. */
  factory: string;
  /** Alias in a single-document index: `createRouter` / `createPlugin`. */
  alias: string;
  fileName: string;
  /** Imports of the framework (type-only where possible). */
  frameworkImports: ts.ImportDeclaration[];
  /** The runtime glue called: `createExpressRouter` / `createFastifyPlugin`. */
  glue: string;
  /**
   * The runtime subpath exporting `glue` (`express` / `fastify`): one per framework, so a project
   * using one framework never needs the other's types.
   */
  glueModule: string;
  /** Arguments before the API definition (`express` for Express). */
  leadingArgs: ts.Expression[];
  requestType: ts.TypeNode;
  returnType: ts.TypeNode;
  doc: string[];
}

/**
 * `export function createXxx<Auth = unknown>(handlers, options) { return glue(..., api, handlers, options, name); }`:
 * `options` (with `authenticate`) is required when an operation documents security.
 */
export function routerFile(doc: EmitDocument, options: EmitOptions, flavor: RouterFlavor): GeneratedFile {
  const names = handlersNames(doc);
  const secured = doc.ir.operations.some((op) => authMode(op) !== 'none');
  const optionsType = typeRef(
    secured ? 'SecuredServerOptions' : 'ServerOptions',
    typeRef('Auth'),
    flavor.requestType,
  );
  const nodes: ts.Node[] = [
    ...flavor.frameworkImports,
    importDeclaration(`${options.runtimePackage}/${flavor.glueModule}`, [{ name: flavor.glue }]),
    importDeclaration(`${options.runtimePackage}/server`, [
      { name: secured ? 'SecuredServerOptions' : 'ServerOptions', typeOnly: true },
    ]),
    importDeclaration(generatedModule(options, 'handlers', handlersFileName(doc)), [
      { name: names.interface, typeOnly: true },
      { name: names.operations },
    ]),
    importDeclaration(generatedModule(options, 'validators', validatorsFileName(doc)), [
      { name: 'requestParsers' },
      { name: 'responseValidators' },
      { name: 'responseSchemas' },
    ]),
    withJsDoc(
      f.createFunctionDeclaration(
        [f.createModifier(ts.SyntaxKind.ExportKeyword)],
        undefined,
        flavor.factory,
        [
          f.createTypeParameterDeclaration(
            undefined,
            'Auth',
            undefined,
            f.createKeywordTypeNode(ts.SyntaxKind.UnknownKeyword),
          ),
        ],
        [
          f.createParameterDeclaration(
            undefined,
            undefined,
            'handlers',
            undefined,
            typeRef(names.interface, typeRef('Auth'), flavor.requestType),
          ),
          f.createParameterDeclaration(
            undefined,
            undefined,
            'options',
            undefined,
            optionsType,
            secured ? undefined : f.createObjectLiteralExpression([]),
          ),
        ],
        flavor.returnType,
        f.createBlock(
          [
            f.createReturnStatement(
              call(flavor.glue, [
                ...flavor.leadingArgs,
                f.createObjectLiteralExpression([
                  f.createPropertyAssignment('operations', f.createIdentifier(names.operations)),
                  f.createShorthandPropertyAssignment('requestParsers'),
                  f.createShorthandPropertyAssignment('responseValidators'),
                  f.createShorthandPropertyAssignment('responseSchemas'),
                ]),
                f.createIdentifier('handlers'),
                f.createIdentifier('options'),
                f.createStringLiteral(flavor.factory),
              ]),
            ),
          ],
          true,
        ),
      ),
      flavor.doc,
    ),
  ];
  return {
    path: flavor.fileName,
    contents: `${generatedHeader([doc.ir.source])}\n${printNodes(nodes)}`,
    exports: { values: [flavor.factory], types: [] },
    aliases: [{ name: flavor.factory, alias: flavor.alias }],
  };
}
