import type { ApiDocument } from '../ir/types.js';

/** One input document as the emitters see it. */
export interface EmitDocument {
  ir: ApiDocument;
  /** PascalCase name used in exported identifiers, e.g. `WebrtcRegistration` → `createWebrtcRegistrationClient`. */
  apiName: string;
  /** File name stem of this document's generated files, e.g. `webrtc-registration`. */
  fileBase: string;
}

export interface GeneratedFile {
  /** Path relative to the output folder. */
  path: string;
  contents: string;
  /** Names this file exports at the top level (a file with no values is re-exported with `export type`). */
  exports?: { values: string[]; types: string[] };
  /** With several documents, `index.ts` re-exports this file under this namespace instead of flat. */
  namespace?: string;
  /** With one document, `index.ts` also exports these short names (`createClient` for `createRegistrationClient`). */
  aliases?: { name: string; alias: string; typeOnly?: boolean }[];
  /** What the user should know about this file; `generate` prints them as warnings. */
  warnings?: string[];
}

export interface EmitOptions {
  /** Package the generated code imports its runtime from. */
  runtimePackage: string;
  /**
   * Output kinds this run can use: the ones it emits and the ones it imports
   * (`imports`), so an emitter can use another's files when present.
   */
  emitters: readonly string[];
  /** Output kinds emitted by another run and imported from a package instead: kind → package name. */
  imports: Readonly<Record<string, string>>;
}

/**
 * The module specifier of a generated file of `kind` as another generated file
 * imports it: `./x.types.gen.js` beside it, or `<package>/x.types.gen.js` when
 * that kind is imported from a package (which exports its generated files by name).
 */
export function generatedModule(options: EmitOptions, kind: string, path: string): string {
  const module = path.replace(/\.ts$/, '.js');
  const from = options.imports[kind];
  return from === undefined ? `./${module}` : `${from}/${module}`;
}

/** An output kind. Emitters read only the IR (`EmitDocument.ir`), never the raw files. */
export interface Emitter {
  name: string;
  /** Emitters whose files this one imports; selected automatically. */
  requires?: string[];
  emit(documents: EmitDocument[], options: EmitOptions): GeneratedFile[];
}
