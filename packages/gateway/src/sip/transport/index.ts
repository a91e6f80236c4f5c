export * from './stream-transport.js';
export * from './transport.js';
export * from './udp-transport.js';
