import express, { type Express } from 'express';
{{imports}}

/**
 * Builds the app without listening: call `listen()` in your entry point, and
 * use a loopback listener (or supertest) in tests.
 */
export function buildServer(): Express {
  const app = express();
{{mounts}}
  return app;
}
