export { type DnsServer, type DnsTable, startDnsServer } from './dns/index.js';
export { parsePortKey } from './ports.js';
export { createNetworkService } from './service.js';
export { addresslessEndpoint, networkSettings } from './settings.js';
export type {
  AddressPool,
  AttachRequest,
  CreateNetworkRequest,
  EndpointRequest,
  NetworkAttachment,
  NetworkDriver,
  NetworkEndpointInfo,
  NetworkInfo,
  NetworkOptions,
  NetworkService,
} from './types.js';
