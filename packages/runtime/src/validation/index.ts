export {
  coerceLocation,
  coerceParameter,
  coercePrimitive,
  type ParameterPlan,
  type PrimitiveType,
  type RawValue,
} from './coerce.js';
export {
  type AjvError,
  type AjvValidate,
  describeError,
  describeErrors,
  type ErrorInfo,
  invalidArgument,
} from './errors.js';
export { deepEqual, formatCheckers, ucs2length } from './helpers.js';
export {
  createPayloadValidator,
  createRequestParser,
  createRequestValidator,
  createResponseValidator,
  type ParsedRequest,
  type ParseResult,
  type PayloadValidator,
  type RequestInput,
  type RequestParser,
  type RequestPlan,
  type RequestValidator,
  type ResponsePlan,
  type ResponsePlanEntry,
  type ResponseSchemas,
  type ResponseValidator,
} from './validators.js';
