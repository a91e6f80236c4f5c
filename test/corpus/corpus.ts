import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMITTERS } from '../../generator/src/emit/registry.js';
import { generateFiles } from '../../generator/src/generate.js';
import { SpecError } from '../../generator/src/parse/errors.js';
import { typecheckMany } from '../support/typecheck.js';

export const ALL_EMITTERS = EMITTERS.map((e) => e.name);

export interface CorpusEntry {
  /** Short name shown in reports, also the output sub-folder. */
  id: string;
  spec: string;
}

export interface CorpusResult {
  id: string;
  /** `ok`; `spec-error` (the document itself is rejected with file#pointer); `crash` (anything else); `compile` (output does not type-check). */
  outcome: 'ok' | 'spec-error' | 'crash' | 'compile';
  /** The first few problems, one line each. */
  problems: string[];
  warnings: number;
}

/**
 * Generates every entry with `emit` into its own folder under `out`, then
 * type-checks every output in one program with the project's strict
 * settings (one program keeps the shared runtime and lib files parsed once).
 */
export async function runCorpus(
  entries: CorpusEntry[],
  out: string,
  emit: readonly string[] = ALL_EMITTERS,
  cwd: string = process.cwd(),
): Promise<CorpusResult[]> {
  const results = new Map<string, CorpusResult>();
  const filesById = new Map<string, string[]>();
  for (const entry of entries) {
    const dir = join(out, entry.id);
    try {
      const { files, warnings } = await generateFiles({
        specs: [entry.spec],
        out: dir,
        emit: [...emit],
        cwd,
      });
      await mkdir(dir, { recursive: true });
      await Promise.all(files.map((file) => writeFile(join(dir, file.path), file.contents)));
      filesById.set(
        entry.id,
        files.map((file) => join(dir, file.path)),
      );
      results.set(entry.id, { id: entry.id, outcome: 'ok', problems: [], warnings: warnings.length });
    } catch (error) {
      const spec = error instanceof SpecError;
      results.set(entry.id, {
        id: entry.id,
        outcome: spec ? 'spec-error' : 'crash',
        problems: [error instanceof Error ? error.message : String(error)],
        warnings: 0,
      });
    }
  }
  const diagnostics = typecheckMany([...filesById.values()].flat());
  for (const [id, files] of filesById) {
    const dir = join(out, id);
    const own = diagnostics.filter((d) => d.file?.startsWith(`${dir}/`));
    if (own.length > 0) {
      const result = results.get(id)!;
      result.outcome = 'compile';
      result.problems = own.slice(0, 5).map((d) => `${d.file!.slice(dir.length + 1)}: ${d.text}`);
    }
    void files;
  }
  return entries.map((entry) => results.get(entry.id)!);
}
