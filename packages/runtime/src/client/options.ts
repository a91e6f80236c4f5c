/** A bearer token, or a function returning one (called before every request, so it can refresh). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

interface CommonClientOptions {
  /** Bearer access token sent as `Authorization: Bearer <token>`. */
  token?: TokenSource;
  /** The fetch implementation (default: `globalThis.fetch`). */
  fetch?: (input: Request) => Promise<Response>;
  /**
   * The `x-correlator` of each request when the call does not pass one:
   * a fixed string, or a function (default: a random UUID per request).
   */
  correlator?: string | (() => string);
  /** Headers added to every request. */
  headers?: Record<string, string>;
}

/** `baseUrl` is the full URL the API is served at, base path included. */
export interface BaseUrlClientOptions extends CommonClientOptions {
  baseUrl: string;
  apiRoot?: never;
}

/** `apiRoot` is scheme + host (+ prefix); the spec's base path (`/webrtc-registration/vwip`) is appended. */
export interface ApiRootClientOptions extends CommonClientOptions {
  apiRoot: string;
  baseUrl?: never;
}

export type ClientOptions = BaseUrlClientOptions | ApiRootClientOptions;

/** The base URL requests go to: `baseUrl` as given, or `apiRoot` + the document's base path. */
export function resolveBaseUrl(options: ClientOptions, basePath: string): string {
  if (typeof options.baseUrl === 'string') return options.baseUrl.replace(/\/+$/, '');
  if (typeof options.apiRoot === 'string') return options.apiRoot.replace(/\/+$/, '') + basePath;
  throw new TypeError('createClient: pass `baseUrl` (full API URL) or `apiRoot` (scheme and host)');
}
