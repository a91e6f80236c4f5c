// Fastify glue on its own subpath (`@telegate/runtime/fastify`): an Express project never loads Fastify types.
export { createFastifyPlugin } from '../server/fastify.js';
