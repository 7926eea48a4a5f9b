import type { Transport } from './transport.js';
import type { Filters } from './types.js';

/** One IPAM pool as `POST /networks/create` takes it and inspect shows it. */
export interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkCreateRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: IpamConfig[]; Options?: Record<string, string> };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** A container on a network, as `GET /networks/{id}` lists it. */
export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/** Docker's Network object; only the fields the CLI reads are named. */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  IPAM: { Driver: string; Config: IpamConfig[] | null; Options: Record<string, string> | null };
  Containers?: Record<string, NetworkContainer> | null;
  Options: Record<string, string> | null;
  Labels: Record<string, string> | null;
  [key: string]: unknown;
}

/** What `network connect` asks of the new endpoint (Docker's EndpointSettings). */
export interface NetworkEndpointConfig {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
  Links?: string[];
  Aliases?: string[];
  MacAddress?: string;
  DriverOpts?: Record<string, string>;
}

export interface NetworkApi {
  /** ConflictError for a name in use or an overlapping subnet. */
  create(body: NetworkCreateRequest): Promise<{ Id: string; Warning?: string }>;
  list(opts?: { filters?: Filters }): Promise<NetworkResource[]>;
  /** NotFoundError(`network REF not found`). */
  inspect(ref: string, opts?: { verbose?: boolean }): Promise<NetworkResource>;
  /** ConflictError while containers are attached. */
  remove(ref: string): Promise<void>;
  prune(opts?: { filters?: Filters }): Promise<{ NetworksDeleted: string[] | null }>;
  connect(ref: string, container: string, endpoint?: NetworkEndpointConfig): Promise<void>;
  disconnect(ref: string, container: string, opts?: { force?: boolean }): Promise<void>;
}

function filtersQuery(filters: Filters | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined;
  return JSON.stringify(filters);
}

export function networkApi(t: Transport): NetworkApi {
  const enc = encodeURIComponent;
  return {
    create: (body) => t.json({ method: 'POST', path: '/networks/create', body }),
    list: (opts = {}) =>
      t.json({ method: 'GET', path: '/networks', query: { filters: filtersQuery(opts.filters) } }),
    inspect: (ref, opts = {}) =>
      t.json({ method: 'GET', path: `/networks/${enc(ref)}`, query: { verbose: opts.verbose } }),
    remove: (ref) => t.empty({ method: 'DELETE', path: `/networks/${enc(ref)}` }),
    prune: (opts = {}) =>
      t.json({ method: 'POST', path: '/networks/prune', query: { filters: filtersQuery(opts.filters) } }),
    connect: (ref, container, endpoint) =>
      t.empty({
        method: 'POST',
        path: `/networks/${enc(ref)}/connect`,
        body: { Container: container, ...(endpoint ? { EndpointConfig: endpoint } : {}) },
      }),
    disconnect: (ref, container, opts = {}) =>
      t.empty({
        method: 'POST',
        path: `/networks/${enc(ref)}/disconnect`,
        body: { Container: container, Force: !!opts.force },
      }),
  };
}
