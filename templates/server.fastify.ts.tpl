import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FastifyInstance, type FastifyServerOptions, fastify } from 'fastify';
{{imports}}

/**
 * Builds the app without listening: `inject()` it in tests. Run this file
 * (`node dist/server.js`) to listen on `HOST`:`PORT` (default 127.0.0.1:8080).
 */
export async function buildServer(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  // Fastify answers path parameters longer than maxParamLength (default 100) with 404 before validation.
  const app = fastify({ ...options, routerOptions: { maxParamLength: 1024, ...options.routerOptions } });
{{mounts}}
  return app;
}

// Listens only when run as the entry point (also through a symlink), not when a test imports it.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const app = await buildServer({ logger: true });
  const port = Number(process.env.PORT ?? 8080);
  const address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port });
  console.log(`listening on ${address}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close());
}
