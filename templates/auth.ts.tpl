import { PermissionDeniedError, UnauthenticatedError } from '{{runtimePackage}}/server';
{{requestImport}}

/** What `authenticate` learns about the caller; handlers receive it as `input.auth`. */
export interface AppAuth {
  /** Who the access token was issued for (for CAMARA: the subscriber's phone number). */
  subject: string;
  scopes: string[];
}

/** The framework request handlers receive as `input.request`. */
export type AppRequest = {{requestType}};

/**
 * Runs before every operation that documents `security`, with the scopes the
 * operation names: return the caller, or throw `UnauthenticatedError` (401) /
 * `PermissionDeniedError` (403).
 */
export async function authenticate(request: AppRequest, scopes: readonly string[]): Promise<AppAuth> {
  const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (!token) throw new UnauthenticatedError();
  const auth = await verifyToken(token);
  if (!scopes.every((scope) => auth.scopes.includes(scope))) throw new PermissionDeniedError();
  return auth;
}

/**
 * Replace with your identity provider: check the signature, expiry and audience
 * (e.g. with `jose` against its JWKS). Until then every call is refused.
 */
async function verifyToken(_token: string): Promise<AppAuth> {
  throw new UnauthenticatedError('Token verification is not configured.');
}
