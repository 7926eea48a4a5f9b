export { createNetworkService } from './service.js';
export type { NetworkAttachment, NetworkOptions, NetworkService } from './types.js';
