import { type FastifyInstance, type FastifyServerOptions, fastify } from 'fastify';
{{imports}}

/**
 * Builds the app without listening: call `listen()` in your entry point, and
 * `inject()` in tests.
 */
export async function buildServer(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  // Fastify answers path parameters longer than maxParamLength (default 100) with 404 before validation.
  const app = fastify({ ...options, routerOptions: { maxParamLength: 1024, ...options.routerOptions } });
{{mounts}}
  return app;
}
