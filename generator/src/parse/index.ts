import { basename, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { ApiDocument } from '../ir/types.js';
import { buildIr } from './build-ir.js';
import { bundle } from './bundle.js';
import { checkSchemas } from './check-schemas.js';
import { normalisePatterns } from './patterns.js';

export { SpecError } from './errors.js';

export interface ParsedDocument {
  ir: ApiDocument;
  warnings: string[];
  /** Every file read, the root first. */
  files: string[];
}

/**
 * Loads, bundles and parses one OpenAPI 3.0/3.1 document into the IR. File
 * names in errors, warnings and `ir.source` are relative to `cwd`, so
 * messages and generated headers read the same on every machine.
 */
export async function parseDocument(file: string, cwd: string = process.cwd()): Promise<ParsedDocument> {
  const display = (path: string): string => {
    const rel = relative(cwd, path);
    return rel === '' || isAbsolute(rel) ? path : rel.split(sep).join('/');
  };
  const absolute = resolve(cwd, file);
  const bundled = await bundle(absolute, display);
  const name = basename(file, extname(file));
  const { ir, warnings } = buildIr(display(absolute), name, bundled.document);
  checkSchemas(ir.bundled, ir.source, warnings);
  normalisePatterns(ir.bundled, ir.source, warnings);
  return { ir, warnings: [...bundled.warnings, ...warnings], files: bundled.files };
}
