import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
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
  // YAML 1.2 core schema, as OpenAPI requires (no timestamps: dates stay strings); duplicate keys are errors.
  try {
    return yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const where = error.mark ? ` at line ${error.mark.line + 1}, column ${error.mark.column + 1}` : '';
      throw new SpecError(file, '', `invalid YAML${where}: ${error.reason}`);
    }
    throw error;
  }
}
