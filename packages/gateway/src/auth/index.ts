export {
  type Auth,
  type AuthContext,
  assertSubscriber,
  bearerToken,
  OPERATION_SCOPES,
  requireScopes,
  subscriptionCreateScope,
} from './auth.js';
export { ALL_SCOPES, DevAuth, type DevTokenClaims } from './dev-auth.js';
export { IntrospectionAuth, type IntrospectionAuthOptions } from './introspection-auth.js';
export { JwtAuth, type JwtAuthOptions } from './jwt-auth.js';
