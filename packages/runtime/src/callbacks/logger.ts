/**
 * The logger the callback sender and receiver write to: pino-style
 * `(fields, message)`, every level optional. Nothing logged ever holds a
 * credential: sinks are shown without user info or query, and tokens are
 * never part of the fields.
 */
export interface CallbackLogger {
  debug?(fields: Record<string, unknown>, message: string): void;
  info?(fields: Record<string, unknown>, message: string): void;
  warn?(fields: Record<string, unknown>, message: string): void;
  error?(fields: Record<string, unknown>, message: string): void;
}

/** Calls the logger; a logger that throws must not break delivery. */
export function log(
  logger: CallbackLogger | undefined,
  level: keyof CallbackLogger,
  fields: Record<string, unknown>,
  message: string,
): void {
  try {
    logger?.[level]?.(fields, message);
  } catch {
    // ignored on purpose
  }
}
