export { type Location, parseLocation } from './location.js';
export { buildPidfLo, PIDF_LO_CONTENT_TYPE, type PidfLo } from './pidf-lo.js';
