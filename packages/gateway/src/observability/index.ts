export { createLogger, type PinoLogger } from './logger.js';
export { GatewayMetrics } from './metrics.js';
