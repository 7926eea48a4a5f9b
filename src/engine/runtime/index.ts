export { createRuntime } from './conmon-runtime.js';
export type { DeviceMapping, IsolationOptions, SharedNamespace } from './isolation.js';
export { readLog } from './log.js';
export { resolveInRoot, resolveScoped, type ScopedPath } from './rootfs-path.js';
export { signalNumber } from './signals.js';
export { buildSpec } from './spec.js';
export type * from './types.js';
