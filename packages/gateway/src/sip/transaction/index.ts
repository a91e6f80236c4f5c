export * from './timers.js';
export * from './transaction-layer.js';
export * from './transactions.js';
