import type { EmitDocument, GeneratedFile } from './emitter.js';
import { generatedHeader } from './header.js';

/**
 * `index.ts`: re-exports every generated file. With several documents each
 * document's types go under a namespace (`WebrtcRegistration.RegSessionRequest`)
 * since schema names repeat across documents; values are unique by construction.
 */
export function indexFile(documents: EmitDocument[], files: GeneratedFile[]): GeneratedFile {
  const flat = documents.length === 1;
  const lines: string[] = [];
  for (const file of files) {
    const module = `./${file.path.replace(/\.ts$/, '.js')}`;
    if (file.typeNamespace && !flat) lines.push(`export type * as ${file.typeNamespace} from '${module}';`);
    else lines.push(`export * from '${module}';`);
  }
  if (flat) {
    const factory = files
      .flatMap((file) => file.exports?.values ?? [])
      .find((name) => /^create\w+Client$/.test(name));
    if (factory)
      lines.push(
        `export { ${factory} as createClient } from './${files.find((file) => file.exports?.values.includes(factory))!.path.replace(/\.ts$/, '.js')}';`,
      );
  }
  return {
    path: 'index.ts',
    contents: `${generatedHeader(documents.map((doc) => doc.ir.source))}\n${lines.join('\n')}\n`,
  };
}
