import type { EmitDocument, GeneratedFile } from './emitter.js';
import { generatedHeader } from './header.js';

const moduleOf = (file: GeneratedFile): string => `./${file.path.replace(/\.ts$/, '.js')}`;

/**
 * `index.ts`: re-exports every generated file.
 *
 * - One document: everything flat, plus each file's short aliases
 *   (`createClient`, `Handlers`, `createRouter`, ...).
 * - Several documents: schema names and fixed export names repeat across
 *   documents, so a file with a `namespace` is exported under it
 *   (`Registration.RegSessionRequest`, `RegistrationValidators.requestValidators`);
 *   files without one export names that are unique by construction
 *   (`createRegistrationClient`).
 */
export function indexFile(documents: EmitDocument[], files: GeneratedFile[]): GeneratedFile {
  const flat = documents.length === 1;
  const lines: string[] = [];
  for (const file of files) {
    const typeOnly = file.exports !== undefined && file.exports.values.length === 0;
    if (file.namespace && !flat) {
      lines.push(`export ${typeOnly ? 'type ' : ''}* as ${file.namespace} from '${moduleOf(file)}';`);
    } else {
      lines.push(`export * from '${moduleOf(file)}';`);
    }
  }
  if (flat) {
    for (const file of files) {
      for (const alias of file.aliases ?? []) {
        lines.push(
          `export ${alias.typeOnly ? 'type ' : ''}{ ${alias.name} as ${alias.alias} } from '${moduleOf(file)}';`,
        );
      }
    }
  }
  return {
    path: 'index.ts',
    contents: `${generatedHeader(documents.map((doc) => doc.ir.source))}\n${lines.join('\n')}\n`,
  };
}
