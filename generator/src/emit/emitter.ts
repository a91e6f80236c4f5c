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
  /** Names this file exports at the top level, for `index.ts`. */
  exports?: { values: string[]; types: string[] };
  /** When set, `index.ts` re-exports the file's types under this namespace instead of flat. */
  typeNamespace?: string;
}

export interface EmitOptions {
  /** Package the generated code imports its runtime from. */
  runtimePackage: string;
}

/** An output kind. Emitters read only the IR (`EmitDocument.ir`), never the raw files. */
export interface Emitter {
  name: string;
  /** Emitters whose files this one imports; selected automatically. */
  requires?: string[];
  emit(documents: EmitDocument[], options: EmitOptions): GeneratedFile[];
}
