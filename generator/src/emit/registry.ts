import { ConfigError } from '../config.js';
import { callbacksEmitter } from './callbacks/index.js';
import { clientEmitter } from './client/index.js';
import type { Emitter } from './emitter.js';
import { expressEmitter } from './express/index.js';
import { fastifyEmitter } from './fastify/index.js';
import { handlersEmitter } from './handlers/index.js';
import { typesEmitter } from './types/index.js';
import { validatorsEmitter } from './validators/index.js';

/** Every output kind, in the order their files are written and re-exported. */
export const EMITTERS: readonly Emitter[] = [
  typesEmitter,
  validatorsEmitter,
  clientEmitter,
  callbacksEmitter,
  handlersEmitter,
  expressEmitter,
  fastifyEmitter,
];

export const DEFAULT_EMIT = ['types', 'client'];

/** The emitters for `names` plus the ones they require, in registry order. */
export function selectEmitters(names: readonly string[]): Emitter[] {
  const wanted = new Set<string>();
  const add = (name: string) => {
    const emitter = EMITTERS.find((e) => e.name === name);
    if (!emitter) {
      throw new ConfigError(
        `unknown emitter "${name}" (available: ${EMITTERS.map((e) => e.name).join(', ')})`,
      );
    }
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const required of emitter.requires ?? []) add(required);
  };
  for (const name of names) add(name);
  return EMITTERS.filter((e) => wanted.has(e.name));
}
