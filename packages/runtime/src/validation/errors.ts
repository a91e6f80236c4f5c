/** A CAMARA error body. */
export interface ErrorInfo {
  status: number;
  code: string;
  message: string;
}

/** The part of an Ajv error object the messages use. */
export interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** A compiled standalone Ajv function. */
export type AjvValidate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

/**
 * `/body/deviceId` + "must match format \"uuid\"" → `body/deviceId must match format "uuid"`;
 * missing properties name the property (`body/deviceId is required`), and
 * unknown ones say so (`body/extra is not allowed`).
 */
export function describeError(error: AjvError, prefix = ''): string {
  const path = prefix + error.instancePath.replace(/~1/g, '/').replace(/~0/g, '~');
  const at = (child: unknown) => `${path.replace(/^\//, '')}/${String(child)}`.replace(/^\//, '');
  const where = path.replace(/^\//, '') || 'value';
  switch (error.keyword) {
    case 'required':
      return `${at(error.params.missingProperty)} is required`;
    case 'additionalProperties':
      return `${at(error.params.additionalProperty)} is not allowed`;
    case 'not':
      return `${where} is not allowed`;
    case 'pattern':
      // A long pattern (CAMARA's Address) would drown the message; name it only when short.
      return String(error.params.pattern).length > 80
        ? `${where} does not match the required pattern`
        : `${where} ${error.message ?? 'does not match the pattern'}`;
    case 'enum':
      return `${where} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where} ${error.message ?? `is invalid (${error.keyword})`}`;
  }
}

const SUMMARIES = new Set(['if', 'anyOf', 'oneOf', 'allOf']);
const CHOICES = new Set(['anyOf', 'oneOf']);

const within = (path: string, parent: string) => path === parent || path.startsWith(`${parent}/`);

/**
 * Every violation. Ajv follows the errors that made an `if/then`, `anyOf` or
 * `oneOf` fail with a summary ("must match \"then\" schema"); a summary is
 * kept only when it is all there is. The errors of the alternatives of a
 * failed `oneOf`/`anyOf` become one message listing them, since no single
 * alternative's error is the client's mistake.
 */
export function describeErrors(errors: readonly AjvError[] | null | undefined, prefix = ''): string[] {
  if (!errors || errors.length === 0) return [];
  const specific = errors.filter((e) => !SUMMARIES.has(e.keyword));
  if (specific.length === 0) return [...new Set(errors.map((e) => describeError(e, prefix)))];
  const choices = errors
    .filter((e) => CHOICES.has(e.keyword))
    .sort((a, b) => a.instancePath.length - b.instancePath.length);
  // Each specific error belongs to the outermost failed choice containing it, if any.
  const groupOf = new Map<AjvError, AjvError>();
  for (const choice of choices) {
    for (const error of specific) {
      if (!groupOf.has(error) && within(error.instancePath, choice.instancePath)) groupOf.set(error, choice);
    }
  }
  const messages: string[] = [];
  const emitted = new Set<AjvError>();
  for (const error of specific) {
    const choice = groupOf.get(error);
    if (!choice) {
      messages.push(describeError(error, prefix));
      continue;
    }
    if (emitted.has(choice)) continue;
    emitted.add(choice);
    const alternatives = [
      ...new Set(specific.filter((e) => groupOf.get(e) === choice).map((e) => describeError(e, prefix))),
    ];
    const where = (prefix + choice.instancePath).replace(/^\//, '') || 'value';
    messages.push(
      alternatives.length === 1
        ? alternatives[0]!
        : `${where} matches none of its alternatives: ${alternatives.join('; or ')}`,
    );
  }
  return [...new Set(messages)];
}

/** CAMARA's `ErrorInfo.message` holds at most 512 characters. */
export const MAX_MESSAGE_LENGTH = 512;

export function invalidArgument(message: string): ErrorInfo {
  const fitted =
    message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
  return { status: 400, code: 'INVALID_ARGUMENT', message: fitted };
}
