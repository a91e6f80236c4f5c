export { createHandlers, type GatewayHandlers } from './handlers.js';
export { type HealthOptions, registerHealthRoutes } from './health.js';
export { registerRequestObservers, requestIdOf } from './observers.js';
export { buildGateway, type GatewayHooks, type GatewayServer, type IssueTokenOptions } from './server.js';
