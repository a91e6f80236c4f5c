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
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(repoRoot, 'node_modules/@types')],
  };
  const program = ts.createProgram(files, options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.replace(repoRoot, '')}:${line + 1}:${character + 1}: ${text}`;
  });
}
