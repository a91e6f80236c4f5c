import { timingSafeEqual } from 'node:crypto';
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
  const auth = developmentAuth(token, scopes) ?? (await verifyToken(token));
  if (!scopes.every((scope) => auth.scopes.includes(scope))) throw new PermissionDeniedError();
  return auth;
}

/**
 * Replace with your identity provider: check the signature, expiry and audience
 * (e.g. with `jose` against its JWKS). Until then every token is refused but the
 * development one.
 */
async function verifyToken(_token: string): Promise<AppAuth> {
  throw new UnauthenticatedError('Token verification is not configured.');
}

/**
 * Development only, so the server answers before `verifyToken` is written: unless
 * `NODE_ENV=production`, the token in `DEV_TOKEN` (16 characters or more) is let in with
 * every scope, as the subject in `DEV_SUBJECT` (default `dev`). Delete it once tokens are checked.
 */
function developmentAuth(token: string, scopes: readonly string[]): AppAuth | undefined {
  const devToken = process.env.DEV_TOKEN;
  if (process.env.NODE_ENV === 'production' || !devToken || devToken.length < 16) return undefined;
  const given = Buffer.from(token);
  const expected = Buffer.from(devToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return { subject: process.env.DEV_SUBJECT ?? 'dev', scopes: [...scopes] };
}
