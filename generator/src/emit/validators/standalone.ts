import type { Ajv as AjvCore } from 'ajv';
import { _, _Code, type Code, getEsmExportName, nil } from 'ajv/dist/compile/codegen/code.js';
import {
  type UsedScopeValues,
  UsedValueState,
  type ValueScopeName,
  varKinds,
} from 'ajv/dist/compile/codegen/scope.js';
import type { SchemaEnv } from 'ajv/dist/compile/index.js';
import type { AnyValidateFunction, SourceCode } from 'ajv/dist/types/index.js';

/**
 * Ajv's standalone ES module for `exports` (export name → schema id), the
 * same text `ajv/dist/standalone` writes for a map of exports.
 *
 * Ajv's own writer appends each export to one growing code object, copying
 * every earlier item on each append: its time grows with the square of the
 * export count (5,000 exports took 33 s), and past about 10,000 exports the
 * copy overflows the call stack. The largest public descriptions have tens of
 * thousands of operations. This writer keeps each export's code as a string
 * and joins them once; what each export contains (the validator and the
 * shared functions it is the first to use) is decided by Ajv's scope exactly
 * as in Ajv's writer. Two exports of one schema share its validator.
 */
export function standaloneModule(ajv: AjvCore, exports: Readonly<Record<string, string>>): string {
  if (!ajv.opts.code.source || !ajv.opts.code.esm)
    throw new Error('standaloneModule: Ajv needs the code.source and code.esm options');
  const { _n } = ajv.scope.opts;
  const usedValues: UsedScopeValues = {};

  const usedState = (name: ValueScopeName) => usedValues[name.prefix]?.get(name);
  const setUsedState = (name: ValueScopeName, state: UsedValueState) => {
    const names = usedValues[name.prefix] ?? new Map<ValueScopeName, UsedValueState>();
    usedValues[name.prefix] = names;
    names.set(name, state);
  };

  const validateCode = (source: SourceCode | undefined): Code => {
    if (!source) throw new Error('standaloneModule: a validator has no source');
    if (usedState(source.validateName) === UsedValueState.Completed) return nil;
    setUsedState(source.validateName, UsedValueState.Started);
    const scopeCode = ajv.scope.scopeCode(source.scopeValues, usedValues, refValidateCode);
    const code = new _Code(`${scopeCode}${_n}${source.validateCode}`);
    return source.evaluated ? _`${code}${source.validateName}.evaluated = ${source.evaluated};${_n}` : code;
  };

  // Another validator referred to from a scope: its code, written once.
  const refValidateCode = (name: ValueScopeName): Code | undefined => {
    const ref = name.value?.ref;
    if (name.prefix === 'validate' && typeof ref === 'function')
      return validateCode((ref as AnyValidateFunction).source);
    if ((name.prefix === 'root' || name.prefix === 'wrapper') && typeof ref === 'object') {
      const { validate, validateName } = ref as SchemaEnv;
      if (!validateName) throw new Error('standaloneModule: a referenced schema has no validator');
      const def = ajv.opts.code.es5 ? varKinds.var : varKinds.const;
      const wrapper = _`${def} ${name} = {validate: ${validateName}};`;
      if (usedState(validateName) === UsedValueState.Started) return wrapper;
      return _`${wrapper}${_n}${validateCode(validate?.source)}`;
    }
    return undefined;
  };

  const parts = ['"use strict";'];
  for (const [name, id] of Object.entries(exports)) {
    const validate = ajv.getSchema(id);
    if (!validate) throw new Error(`standaloneModule: no schema with id ${id}`);
    const code = validateCode(validate.source);
    // Written: a second export of the same schema refers to it (Ajv's writer would write it again).
    if (validate.source) setUsedState(validate.source.validateName, UsedValueState.Completed);
    parts.push(`${_n}export const ${getEsmExportName(name)} = ${validate.source?.validateName};${_n}${code}`);
  }
  return parts.join('');
}
