export { DEMO_NUMBERS, demoBehaviours } from './demo-numbers.js';
export { devTokenKey } from './dev-key.js';
export {
  type AuthMode,
  CONFIG_ENV_NAMES,
  ConfigError,
  DEFAULT_JWT_ALGORITHMS,
  defaultConfig,
  defaultDevKeyFile,
  type GatewayConfig,
  type LogLevel,
  loadConfig,
  resolveConfig,
  validateConfig,
} from './gateway-config.js';
