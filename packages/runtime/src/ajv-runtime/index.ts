// Ajv's standalone code loads a few helpers with `require(...)` even in ESM
// output. The validators emitter replaces the common ones with the plain ES
// helpers of `@telegate/runtime/validation`; anything else becomes
// `ajvRuntime["x"]`, supplied here as ES imports of Ajv's own CommonJS
// modules. Generated code imports this module only when it needs it, so
// most validators load no CommonJS at all.

import equal from 'ajv/dist/runtime/equal.js';
import ucs2length from 'ajv/dist/runtime/ucs2length.js';
import uri from 'ajv/dist/runtime/uri.js';
import validationError from 'ajv/dist/runtime/validation_error.js';
import formats from 'ajv-formats/dist/formats.js';

/**
 * The CommonJS module object standalone code expects (`.default` for the
 * helpers): Node hands an ES import `module.exports`, bundlers and Vite may
 * hand over its `default` export instead.
 */
function commonJs(imported: unknown): unknown {
  return typeof imported === 'function' ? { default: imported } : imported;
}

export const ajvRuntime: Record<string, unknown> = {
  'ajv/dist/runtime/equal': commonJs(equal),
  'ajv/dist/runtime/ucs2length': commonJs(ucs2length),
  'ajv/dist/runtime/uri': commonJs(uri),
  'ajv/dist/runtime/validation_error': commonJs(validationError),
  'ajv-formats/dist/formats': commonJs(formats),
};

/** Module names standalone code may require; the emitter refuses anything else. */
export const AJV_RUNTIME_MODULES = Object.keys(ajvRuntime);
