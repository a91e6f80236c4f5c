import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { SpecError } from './errors.js';

/** Reads and parses one YAML or JSON file; every failure is a `SpecError` naming the file. */
export async function loadFile(file: string): Promise<unknown> {
  const path = isAbsolute(file) ? file : resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecError(
      file,
      '',
      code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? 'error'})`,
    );
  }
  return parseText(file, text);
}

export function parseText(file: string, text: string): unknown {
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new SpecError(file, '', `invalid JSON: ${(error as Error).message}`);
    }
  }
  // YAML 1.2 core schema, as OpenAPI requires; duplicate keys are errors.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : '';
    const reason = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new SpecError(file, '', `invalid YAML${where}: ${reason}`);
  }
  return doc.toJS({ maxAliasCount: 1000 });
}
