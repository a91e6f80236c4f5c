/** The pino-compatible subset the gateway logs through (`pino()` and `fastify.log` fit). */
export interface Logger {
  debug(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

const noop = (): void => {};

/** Discards everything: the default, so a library user is never spammed. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
