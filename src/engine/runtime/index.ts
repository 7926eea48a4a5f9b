export { createRuntime } from './conmon-runtime.js';
export { readLog } from './log.js';
export { signalNumber } from './signals.js';
export { buildSpec } from './spec.js';
export type * from './types.js';
