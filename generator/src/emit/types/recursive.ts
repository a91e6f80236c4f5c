import ts from 'typescript';

const f = ts.factory;

/** `components["schemas"]["Name"]` → `Name`, else `undefined`. */
function schemaRef(node: ts.Node): string | undefined {
  if (!ts.isIndexedAccessTypeNode(node)) return undefined;
  const inner = node.objectType;
  if (
    !ts.isIndexedAccessTypeNode(inner) ||
    !ts.isTypeReferenceNode(inner.objectType) ||
    !ts.isIdentifier(inner.objectType.typeName) ||
    inner.objectType.typeName.text !== 'components'
  )
    return undefined;
  const key = (type: ts.TypeNode) =>
    ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal) ? type.literal.text : undefined;
  return key(inner.indexType) === 'schemas' ? key(node.indexType) : undefined;
}

function memberName(member: ts.TypeElement): string | undefined {
  const name = member.name;
  return name && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined;
}

/** The `schemas` type literal of openapi-typescript's `components` interface. */
function schemasLiteral(nodes: readonly ts.Node[]): ts.TypeLiteralNode | undefined {
  for (const node of nodes) {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== 'components') continue;
    for (const member of node.members) {
      if (ts.isPropertySignature(member) && memberName(member) === 'schemas' && member.type) {
        return ts.isTypeLiteralNode(member.type) ? member.type : undefined;
      }
    }
  }
  return undefined;
}

/** `root` with every node for which `replace` returns a node swapped for it. */
function replaceNodes<T extends ts.Node>(root: T, replace: (node: ts.Node) => ts.Node | undefined): T {
  const result = ts.transform(root, [
    (context) => {
      const visit: ts.Visitor = (node) => replace(node) ?? ts.visitEachChild(node, visit, context);
      return (node) => ts.visitNode(node, visit) as T;
    },
  ]);
  const [transformed] = result.transformed;
  result.dispose();
  return transformed as T;
}

/** Schemas that take part in a reference cycle (Tarjan's strongly connected components). */
export function recursiveSchemas(edges: ReadonlyMap<string, ReadonlySet<string>>): Set<string> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cyclic = new Set<string>();
  let counter = 0;
  const visit = (name: string): void => {
    index.set(name, counter);
    low.set(name, counter++);
    stack.push(name);
    onStack.add(name);
    for (const next of edges.get(name) ?? []) {
      if (!edges.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(name, Math.min(low.get(name)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(name, Math.min(low.get(name)!, index.get(next)!));
      }
    }
    if (low.get(name) === index.get(name)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== name);
      if (component.length > 1 || edges.get(name)?.has(name)) for (const m of component) cyclic.add(m);
    }
  };
  for (const name of edges.keys()) if (!index.has(name)) visit(name);
  return cyclic;
}

/**
 * openapi-typescript types a schema that contains itself other than through
 * an object property (`Value = string | Value[]`) as a `components` member
 * that refers to itself by indexed access, which TypeScript refuses ("is
 * referenced directly or indirectly in its own type annotation"). Recursive
 * type aliases are fine, so each schema in a reference cycle becomes a
 * top-level alias (named by `aliasFor`) that refers to the others of its
 * cycle by alias, and its `components` member refers to that alias.
 * Returns the rewritten nodes and the aliases it declared, by schema name.
 */
export function hoistRecursiveSchemas(
  nodes: readonly ts.Node[],
  aliasFor: (schema: string) => string,
): { nodes: ts.Node[]; hoisted: Map<string, string> } {
  const schemas = schemasLiteral(nodes);
  const hoisted = new Map<string, string>();
  if (!schemas) return { nodes: [...nodes], hoisted };
  const edges = new Map<string, Set<string>>();
  for (const member of schemas.members) {
    const name = memberName(member);
    if (name === undefined || !ts.isPropertySignature(member) || !member.type) continue;
    const refs = new Set<string>();
    const collect = (node: ts.Node): void => {
      const ref = schemaRef(node);
      if (ref !== undefined) refs.add(ref);
      else ts.forEachChild(node, collect);
    };
    collect(member.type);
    edges.set(name, refs);
  }
  const cyclic = recursiveSchemas(edges);
  if (cyclic.size === 0) return { nodes: [...nodes], hoisted };
  for (const name of cyclic) hoisted.set(name, aliasFor(name));

  const byAlias = (node: ts.Node): ts.Node | undefined => {
    const ref = schemaRef(node);
    return ref !== undefined && hoisted.has(ref) ? f.createTypeReferenceNode(hoisted.get(ref)!) : undefined;
  };
  const aliases: ts.Node[] = [];
  const members = schemas.members.map((member) => {
    const name = memberName(member);
    if (name === undefined || !hoisted.has(name) || !ts.isPropertySignature(member) || !member.type)
      return member;
    const alias = hoisted.get(name)!;
    aliases.push(
      f.createTypeAliasDeclaration(
        [f.createModifier(ts.SyntaxKind.ExportKeyword)],
        alias,
        undefined,
        replaceNodes(member.type, byAlias),
      ),
    );
    return f.updatePropertySignature(
      member,
      member.modifiers,
      member.name,
      member.questionToken,
      f.createTypeReferenceNode(alias),
    );
  });
  const replaced = f.updateTypeLiteralNode(schemas, f.createNodeArray(members));
  const out = nodes.map((node) =>
    ts.isInterfaceDeclaration(node) && node.name.text === 'components'
      ? replaceNodes(node, (n) => (n === schemas ? replaced : undefined))
      : node,
  );
  return { nodes: [...out, ...aliases], hoisted };
}
