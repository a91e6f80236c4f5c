import type { AddressInfo } from 'node:net';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
{{imports}}

/**
 * Builds the app without listening: use a loopback listener (or supertest) in
 * tests. Run this file (`node dist/server.js`) to listen on `HOST`:`PORT`
 * (default 127.0.0.1:8080).
 */
export function buildServer(): Express {
  const app = express();
{{mounts}}
  return app;
}

// Listens only when run as the entry point (also through a symlink), not when a test imports it.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const port = Number(process.env.PORT ?? 8080);
  const server = buildServer().listen(port, process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`listening on http://${address}:${port}`);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close());
}
