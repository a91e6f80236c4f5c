import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';

export const repoRoot = new URL('../../', import.meta.url).pathname;

/**
 * A fresh folder inside the repository (so `node_modules` resolves), ignored by
 * git: under this test run's folder, which the run removes when it ends.
 */
export async function repoTempDir(prefix: string): Promise<string> {
  const base = process.env.TELEGATE_TEST_TMP ?? join(repoRoot, '.tmp');
  mkdirSync(base, { recursive: true });
  return mkdtemp(join(base, prefix));
}

/**
 * Type-checks files with the project's strict settings (`strict`,
 * `noUncheckedIndexedAccess`, `exactOptionalPropertyTypes`,
 * `verbatimModuleSyntax`) and returns the diagnostics as text, one per entry.
 */
export function typecheck(files: string[]): string[] {
  return typecheckMany(files).map((d) =>
    d.file === undefined ? d.text : `${d.file.replace(repoRoot, '')}:${d.line}:${d.column}: ${d.text}`,
  );
}

/** The project's strict compiler settings, for generated code. */
export function strictOptions(): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(repoRoot, 'node_modules/@types')],
  };
}

export interface Diagnostic {
  /** Absolute path, when the diagnostic has a file. */
  file?: string;
  line?: number;
  column?: number;
  text: string;
}

/** Type-checks `files` in one program with `strictOptions()`; many files share one parse of the libraries. */
export function typecheckMany(files: string[], overrides: ts.CompilerOptions = {}): Diagnostic[] {
  const program = ts.createProgram(files, { ...strictOptions(), ...overrides });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return { text };
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return { file: d.file.fileName, line: line + 1, column: character + 1, text };
  });
}
