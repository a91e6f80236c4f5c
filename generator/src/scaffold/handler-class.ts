import {
  type ClassDeclaration,
  IndentationText,
  NewLineKind,
  Project,
  QuoteKind,
  type SourceFile,
} from 'ts-morph';

/** One operation the handler class must have a method for. */
export interface HandlerOperation {
  id: string;
  method: string;
  path: string;
  summary?: string;
}

export interface HandlerClassSpec {
  /** The generated interface the class implements, e.g. `WebrtcRegistrationHandlers`. */
  interfaceName: string;
  operations: HandlerOperation[];
  /** Module the generated names are imported from, e.g. `./gen/index.js`. */
  generatedImport: string;
  /** `@telegate/runtime`. */
  runtimePackage: string;
}

export interface HandlerClassEdit {
  text: string;
  /** Name of the class that was edited. */
  className?: string;
  /** Operations a method was added for, in spec order. */
  added: string[];
  /** Methods typed as handlers (`Input<'x'>`) whose operation is no longer in the spec: kept. */
  removed: string[];
  /** Why the file could not be edited (no class implementing the interface). */
  problem?: string;
}

const HANDLER_PARAMETER = /\b(Input|HandlerInputOf)<|\bHandlerInput</;

function indentation(text: string): IndentationText {
  const indent = /\n( +|\t)\S/.exec(text)?.[1];
  if (indent === '\t') return IndentationText.Tab;
  if (indent?.length === 4) return IndentationText.FourSpaces;
  return IndentationText.TwoSpaces;
}

function memberName(name: string): string {
  return /^(['"]).*\1$/.test(name) ? name.slice(1, -1) : name;
}

function findHandlerClass(file: SourceFile, interfaceName: string): ClassDeclaration | undefined {
  return file
    .getClasses()
    .find((cls) => cls.getImplements().some((clause) => clause.getExpression().getText() === interfaceName));
}

/** Adds `name` to the named imports of `module` (adding the declaration if there is none). */
function ensureImport(file: SourceFile, module: string, name: string, typeOnly: boolean): void {
  const declarations = file.getImportDeclarations().filter((d) => d.getModuleSpecifierValue() === module);
  for (const declaration of declarations) {
    if (declaration.getNamedImports().some((n) => (n.getAliasNode() ?? n.getNameNode()).getText() === name))
      return;
  }
  const target = declarations.find((d) => !d.isTypeOnly() || typeOnly);
  if (target) {
    target.addNamedImport(typeOnly && !target.isTypeOnly() ? { name, isTypeOnly: true } : { name });
    return;
  }
  file.addImportDeclaration({ moduleSpecifier: module, namedImports: [name], isTypeOnly: typeOnly });
}

const methodName = (id: string) => (/^[A-Za-z_$][\w$]*$/.test(id) ? id : `'${id}'`);

const LINE_WIDTH = 110;

function indentUnit(text: string): string {
  const kind = indentation(text);
  return kind === IndentationText.Tab ? '\t' : kind === IndentationText.FourSpaces ? '    ' : '  ';
}

/** A stub method, its signature wrapped the way Biome and Prettier wrap a long one. */
export function methodText(op: HandlerOperation, unit: string): string {
  const name = methodName(op.id);
  const parameter = `_input: Input<'${op.id}'>`;
  const result = `Promise<Result<'${op.id}'>>`;
  const oneLine = `async ${name}(${parameter}): ${result} {`;
  const signature =
    unit.length + oneLine.length <= LINE_WIDTH
      ? oneLine
      : `async ${name}(\n${unit}${parameter},\n): ${result} {`;
  const doc = `/** ${op.summary ? `${op.summary}: ` : ''}\`${op.method.toUpperCase()} ${op.path}\`. */`;
  return `${doc}\n${signature}\n${unit}throw new NotImplementedError();\n}`;
}

/**
 * Brings a handler class up to date with the spec, touching nothing that is
 * there: one `async` method throwing `NotImplementedError` per operation without
 * a method (appended, in spec order), plus the imports and `Input`/`Result`
 * aliases those use when missing. Methods of operations that left the spec are
 * reported, never removed.
 */
export function syncHandlerClass(text: string, spec: HandlerClassSpec): HandlerClassEdit {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: {
      indentationText: indentation(text),
      quoteKind: QuoteKind.Single,
      newLineKind: text.includes('\r\n') ? NewLineKind.CarriageReturnLineFeed : NewLineKind.LineFeed,
      useTrailingCommas: true,
    },
  });
  const file = project.createSourceFile('handlers.ts', text);
  const cls = findHandlerClass(file, spec.interfaceName);
  if (!cls) {
    return {
      text,
      added: [],
      removed: [],
      problem: `no class implementing ${spec.interfaceName}`,
    };
  }
  const existing = new Set(
    [...cls.getMethods(), ...cls.getProperties()].map((member) => memberName(member.getName())),
  );
  const wanted = new Set(spec.operations.map((op) => op.id));
  const missing = spec.operations.filter((op) => !existing.has(op.id));
  const removed = cls
    .getMethods()
    .filter((method) => !method.isStatic() && !wanted.has(memberName(method.getName())))
    .filter((method) => HANDLER_PARAMETER.test(method.getParameters()[0]?.getTypeNode()?.getText() ?? ''))
    .map((method) => memberName(method.getName()));

  if (missing.length > 0) {
    const runtime = `${spec.runtimePackage}/server`;
    ensureImport(file, runtime, 'NotImplementedError', false);
    if (!file.getTypeAlias('Input') || !file.getTypeAlias('Result')) {
      ensureImport(file, runtime, 'HandlerInputOf', true);
      ensureImport(file, runtime, 'HandlerResultOf', true);
      ensureImport(file, spec.generatedImport, spec.interfaceName, true);
      const implemented = cls
        .getImplements()
        .find((clause) => clause.getExpression().getText() === spec.interfaceName)!
        .getText();
      const at = cls.getChildIndex();
      for (const [alias, helper] of [
        ['Result', 'HandlerResultOf'],
        ['Input', 'HandlerInputOf'],
      ] as const) {
        if (!file.getTypeAlias(alias)) {
          file.insertTypeAlias(at, {
            name: alias,
            typeParameters: [{ name: 'K', constraint: 'string' }],
            type: `${helper}<${implemented}, K>`,
          });
        }
      }
    }
    const unit = indentUnit(text);
    for (const op of missing) cls.addMember(methodText(op, unit));
  }
  return {
    text: missing.length > 0 ? file.getFullText() : text,
    className: cls.getName() ?? '(anonymous class)',
    added: missing.map((op) => op.id),
    removed,
  };
}
