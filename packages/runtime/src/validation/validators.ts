import { coerceLocation, type ParameterPlan, type RawValue } from './coerce.js';
import { type AjvValidate, describeErrors, type ErrorInfo, invalidArgument } from './errors.js';

/** A request as a framework hands it over: path params, raw query and headers, parsed body. */
export interface RequestInput {
  params?: Record<string, string>;
  query?: Record<string, RawValue>;
  headers?: Record<string, RawValue>;
  body?: unknown;
  /**
   * Every header name in `headers` is lower case, as Node delivers them: a
   * header missing under its lower-case name is then absent, without looking
   * for other spellings.
   */
  headerNamesLowerCase?: boolean;
}

/** The documented parameters of a request, converted to their schema types (header names lower-case). */
export interface ParsedRequest {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export type RequestParser<T = ParsedRequest> = (input: RequestInput) => ParseResult<T>;
export type RequestValidator = (input: RequestInput) => ErrorInfo | null;
export type ResponseValidator = (
  status: number,
  body: unknown,
  headers?: Record<string, RawValue>,
) => string[] | null;
export type PayloadValidator = (payload: unknown) => string[] | null;

/**
 * The JSON Schemas of an API's JSON response bodies: `operations[operationId][status]`
 * (a status as documented: `201`, `4XX`, `default`), whose `$ref`s point into
 * `definitions` as `<id>#/definitions/<name>`.
 */
export interface ResponseSchemas {
  readonly id: string;
  readonly definitions: Readonly<Record<string, unknown>>;
  readonly operations: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface RequestPlan {
  path: readonly ParameterPlan[];
  query: readonly ParameterPlan[];
  header: readonly ParameterPlan[];
}

/**
 * `validate` checks `{ path, query, header, body }` against the operation's
 * schema; the parser converts strings first and never mutates `input`.
 */
export function createRequestParser<T = ParsedRequest>(
  validate: AjvValidate,
  plan: RequestPlan,
): RequestParser<T> {
  return (input) => {
    const candidate: Record<string, unknown> = {
      path: coerceLocation(input.params, plan.path, false),
      query: coerceLocation(input.query, plan.query, false),
      header: coerceLocation(input.headers, plan.header, true, input.headerNamesLowerCase === true),
    };
    if (input.body !== undefined) candidate.body = input.body;
    if (!validate(candidate)) {
      return {
        ok: false,
        error: invalidArgument(describeErrors(validate.errors)[0] ?? 'the request is invalid'),
      };
    }
    const value: ParsedRequest = {
      params: candidate.path as Record<string, unknown>,
      query: candidate.query as Record<string, unknown>,
      headers: candidate.header as Record<string, unknown>,
      body: input.body,
    };
    return { ok: true, value: value as T };
  };
}

export function createRequestValidator(parser: RequestParser<unknown>): RequestValidator {
  return (input) => {
    const result = parser(input);
    return result.ok ? null : result.error;
  };
}

export function createPayloadValidator(validate: AjvValidate): PayloadValidator {
  return (payload) => (validate(payload) ? null : describeErrors(validate.errors));
}

export interface ResponsePlanEntry {
  /** Checks `{ body?, header }`. */
  validate: AjvValidate;
  header: readonly ParameterPlan[];
  /** False when the status documents no content: any body is a violation. */
  hasBody: boolean;
}

/** Documented responses by status key (`"201"`, `"4XX"`, `"default"`). */
export type ResponsePlan = Record<string, ResponsePlanEntry>;

function entryFor(plan: ResponsePlan, status: number): ResponsePlanEntry | undefined {
  return plan[String(status)] ?? plan[`${String(status)[0]}XX`] ?? plan.default;
}

export function createResponseValidator(plan: ResponsePlan): ResponseValidator {
  return (status, body, headers) => {
    const entry = entryFor(plan, status);
    if (!entry) return [`status ${status} is not documented`];
    const violations: string[] = [];
    const hasBody = body !== undefined && body !== null && body !== '';
    if (!entry.hasBody && hasBody) violations.push(`status ${status} documents no body`);
    const candidate: Record<string, unknown> = { header: coerceLocation(headers, entry.header, true) };
    if (entry.hasBody && body !== undefined) candidate.body = body;
    if (!entry.validate(candidate)) violations.push(...describeErrors(entry.validate.errors));
    return violations.length > 0 ? violations : null;
  };
}
