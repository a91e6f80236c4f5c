import { type Logger as PinoLogger, pino } from 'pino';
import type { LogLevel } from '../config/gateway-config.js';

export type { PinoLogger };

/**
 * The gateway's structured logger: JSON lines on stdout (or `destination`),
 * with the request's `x-correlator` bound on request logs. Tokens and sink
 * credentials are redacted wherever they would appear.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): PinoLogger {
  const options = {
    level,
    base: { service: 'telegate-gateway' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'sinkCredential',
        '*.sinkCredential',
        'token',
        '*.token',
      ],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
