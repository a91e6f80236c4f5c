// Express glue on its own subpath (`@telegate/runtime/express`): a Fastify project never loads Express types.
export { createExpressRouter, type ExpressModule } from '../server/express.js';
