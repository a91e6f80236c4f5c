import ts from 'typescript';

const f = ts.factory;

/** `"x"`-keyed or numeric literal type for indexed access. */
export function literalKey(key: string | number): ts.LiteralTypeNode {
  return f.createLiteralTypeNode(
    typeof key === 'number' ? f.createNumericLiteral(key) : f.createStringLiteral(key),
  );
}

/** `Root["a"]["b"][201]` */
export function indexedAccess(root: string | ts.TypeNode, ...keys: (string | number)[]): ts.TypeNode {
  let node: ts.TypeNode = typeof root === 'string' ? f.createTypeReferenceNode(root) : root;
  for (const key of keys) node = f.createIndexedAccessTypeNode(node, literalKey(key));
  return node;
}

export function typeRef(name: string, ...args: ts.TypeNode[]): ts.TypeReferenceNode {
  return f.createTypeReferenceNode(name, args.length > 0 ? args : undefined);
}

export function union(types: ts.TypeNode[]): ts.TypeNode {
  if (types.length === 0) return f.createKeywordTypeNode(ts.SyntaxKind.NeverKeyword);
  if (types.length === 1) return types[0]!;
  return f.createUnionTypeNode(types);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

export function propertyName(name: string): ts.PropertyName {
  return isIdentifier(name) ? f.createIdentifier(name) : f.createStringLiteral(name);
}

export function property(
  name: string,
  type: ts.TypeNode,
  optional = false,
  readonly = false,
): ts.PropertySignature {
  return f.createPropertySignature(
    readonly ? [f.createModifier(ts.SyntaxKind.ReadonlyKeyword)] : undefined,
    propertyName(name),
    optional ? f.createToken(ts.SyntaxKind.QuestionToken) : undefined,
    type,
  );
}

export function typeLiteral(members: ts.TypeElement[]): ts.TypeLiteralNode {
  return f.createTypeLiteralNode(members);
}

const EXPORT = [f.createModifier(ts.SyntaxKind.ExportKeyword)];

export function exportTypeAlias(name: string, type: ts.TypeNode): ts.TypeAliasDeclaration {
  return f.createTypeAliasDeclaration(EXPORT, name, undefined, type);
}

export function exportInterface(name: string, members: ts.TypeElement[]): ts.InterfaceDeclaration {
  return f.createInterfaceDeclaration(EXPORT, name, undefined, undefined, members);
}

/** `import type { a, b } from 'x'` or `import x, { type a } from 'x'`. */
export function importDeclaration(
  from: string,
  named: { name: string; typeOnly?: boolean }[],
  options: { typeOnly?: boolean; defaultName?: string } = {},
): ts.ImportDeclaration {
  const specifiers = named.map((n) =>
    f.createImportSpecifier(
      n.typeOnly === true && options.typeOnly !== true,
      undefined,
      f.createIdentifier(n.name),
    ),
  );
  return f.createImportDeclaration(
    undefined,
    f.createImportClause(
      options.typeOnly === true,
      options.defaultName ? f.createIdentifier(options.defaultName) : undefined,
      specifiers.length > 0 ? f.createNamedImports(specifiers) : undefined,
    ),
    f.createStringLiteral(from),
  );
}

/** Attaches a JSDoc block (`/** ... *\/`) above a node. */
export function withJsDoc<T extends ts.Node>(node: T, lines: (string | undefined)[]): T {
  const text = lines
    .filter((line): line is string => line !== undefined && line.trim() !== '')
    .join('\n\n')
    .replace(/\*\//g, '*\\/')
    .trim();
  if (text === '') return node;
  const body = text
    .split('\n')
    .map((line) => ` * ${line}`.trimEnd())
    .join('\n');
  return ts.addSyntheticLeadingComment(node, ts.SyntaxKind.MultiLineCommentTrivia, `*\n${body}\n `, true);
}

const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed, removeComments: false });

/** Prints nodes as one source file, a blank line between top-level statements. */
export function printNodes(nodes: readonly ts.Node[]): string {
  const file = ts.createSourceFile('out.ts', '', ts.ScriptTarget.ESNext, false, ts.ScriptKind.TS);
  return `${nodes.map((node) => printer.printNode(ts.EmitHint.Unspecified, node, file)).join('\n\n')}\n`;
}

/** A JSON value as an expression (`{ "a": [1, null] }`). */
export function jsonExpression(value: unknown): ts.Expression {
  if (value === null || value === undefined) return f.createNull();
  if (typeof value === 'string') return f.createStringLiteral(value);
  if (typeof value === 'number') {
    return value < 0
      ? f.createPrefixUnaryExpression(ts.SyntaxKind.MinusToken, f.createNumericLiteral(-value))
      : f.createNumericLiteral(value);
  }
  if (typeof value === 'boolean') return value ? f.createTrue() : f.createFalse();
  if (Array.isArray(value)) return f.createArrayLiteralExpression(value.map(jsonExpression), false);
  return f.createObjectLiteralExpression(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => f.createPropertyAssignment(propertyName(key), jsonExpression(v))),
    false,
  );
}

/** `export const name: type = initializer;` */
export function exportConst(
  name: string,
  type: ts.TypeNode | undefined,
  initializer: ts.Expression,
): ts.VariableStatement {
  return f.createVariableStatement(
    EXPORT,
    f.createVariableDeclarationList(
      [f.createVariableDeclaration(name, undefined, type, initializer)],
      ts.NodeFlags.Const,
    ),
  );
}

/** `callee(args...)` with an identifier callee. */
export function call(callee: string, args: ts.Expression[], typeArgs?: ts.TypeNode[]): ts.CallExpression {
  return f.createCallExpression(f.createIdentifier(callee), typeArgs, args);
}
