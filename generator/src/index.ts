export { CONFIG_FILE, ConfigError, loadConfig, type TargetConfig, type TelegateConfig } from './config.js';
export type { EmitDocument, EmitOptions, Emitter, GeneratedFile } from './emit/emitter.js';
export { EMITTERS, selectEmitters } from './emit/registry.js';
export {
  checkFiles,
  type DriftReport,
  type GenerateOptions,
  type GenerateResult,
  generateFiles,
  type SpecInput,
  writeFiles,
} from './generate.js';
export type * from './ir/types.js';
export { parseDocument, SpecError } from './parse/index.js';
