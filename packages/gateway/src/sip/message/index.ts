export * from './headers.js';
export * from './message.js';
export * from './parser.js';
export * from './serializer.js';
