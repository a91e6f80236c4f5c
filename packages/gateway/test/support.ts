import { ApiError } from '../src/index.js';

/** Whether `error` is a CAMARA error (what the routers turn into an `ErrorInfo`). */
export const isApiError = (error: unknown): boolean => error instanceof ApiError;
