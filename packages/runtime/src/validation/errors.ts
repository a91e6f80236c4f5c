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
    case 'enum':
      return `${where} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where} ${error.message ?? `is invalid (${error.keyword})`}`;
  }
}

const SUMMARIES = new Set(['if', 'anyOf', 'oneOf', 'allOf']);

/**
 * Every violation. Ajv follows the errors that made an `if/then`, `anyOf` or
 * `oneOf` fail with a summary ("must match \"then\" schema"); a summary is
 * kept only when it is all there is.
 */
export function describeErrors(errors: readonly AjvError[] | null | undefined, prefix = ''): string[] {
  if (!errors || errors.length === 0) return [];
  const specific = errors.filter((e) => !SUMMARIES.has(e.keyword));
  return [...new Set((specific.length > 0 ? specific : errors).map((e) => describeError(e, prefix)))];
}

export function invalidArgument(message: string): ErrorInfo {
  return { status: 400, code: 'INVALID_ARGUMENT', message };
}
