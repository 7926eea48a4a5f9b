export * from './detach-keys.js';
export * from './errors.js';
export * from './stream.js';
export type * from './types.js';
export * from './units.js';
export * from './version.js';
