import type { NetworkSettings, PortBinding } from '../../api/index.js';

export interface NetworkOptions {
  /** Directory for the network records (leases), under the data root. */
  stateDir: string;
  /** Name of the default bridge device, e.g. `berth0`. */
  bridgeName: string;
  /** The default bridge's gateway address and prefix (dockerd's `--bip`), e.g. `172.18.0.1/16`. */
  bridgeCidr: string;
  /** Our own nftables table (family inet), dropped whole on teardown. */
  nftTable: string;
  /** Prefix of the network namespace names we create under /run/netns. */
  netnsPrefix: string;
  /**
   * Prefix of user-defined bridge devices; the rest of the name comes from the network id
   * (Docker's is `br-`). Teardown removes every bridge that starts with it.
   */
  bridgePrefix?: string;
  /** Where subnets of networks made without `--subnet` come from (dockerd's `--default-address-pool`). */
  addressPools?: AddressPool[];
}

/** A range carved into subnets of one size: base `172.19.0.0/16`, size 16 -> one /16. */
export interface AddressPool {
  base: string;
  size: number;
}

export interface NetworkAttachment {
  /** The mode as requested, normalized: `bridge`, `host`, `none`, a network name or `container:<id>`. */
  mode: string;
  /** What the OCI spec's network namespace should be. */
  namespace: 'host' | { path: string } | undefined;
  /** Docker's NetworkSettings for inspect; Networks is keyed by network name. */
  settings: NetworkSettings;
  /** Address other containers and /etc/hosts use; '' without one. */
  ipAddress: string;
  /** The embedded DNS server the container's resolv.conf names, on user-defined networks. */
  dnsServer?: string;
  /** What `host-gateway` in `--add-host` means: the default bridge's gateway, as in Docker. */
  hostGateway?: string;
}

/** What a container asks of one network (Docker's EndpointSettings in NetworkingConfig). */
export interface EndpointRequest {
  aliases?: string[];
  /** `--ip`: a static address. */
  ipv4Address?: string;
  /** `--ip6`: a static address on a network with IPv6. */
  ipv6Address?: string;
  macAddress?: string;
}

/** Everything needed to give a starting container its networks. */
export interface AttachRequest {
  containerId: string;
  /** Without the leading slash. */
  containerName: string;
  /** HostConfig.NetworkMode. */
  mode: string;
  /** NetworkingConfig.EndpointsConfig, keyed by network name or id. */
  endpoints?: Record<string, EndpointRequest>;
  /** `--link`, as `name:alias` or `name`. Resolved to container names by the caller. */
  links?: Array<{ name: string; alias: string }>;
  /** HostConfig.PortBindings, keyed `80/tcp`. */
  portBindings?: Record<string, PortBinding[] | null>;
  /** `-P`: the image's and the request's exposed ports, each on an ephemeral host port. */
  publishAll?: boolean;
  exposedPorts?: string[];
  /** `--dns`: where the embedded DNS server sends this container's other queries. */
  dnsServers?: string[];
}

/** Docker's driver names. `null` is the none network's. */
export type NetworkDriver = 'bridge' | 'host' | 'null' | 'macvlan' | 'ipvlan';

/** One network as the engine keeps it; server/ turns it into Docker's JSON. */
export interface NetworkInfo {
  id: string;
  name: string;
  driver: NetworkDriver;
  created: string;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** Subnet and gateway: the IPv4 entry, then the IPv6 one if enabled; empty on host and none. */
  ipam: Array<{ subnet: string; gateway: string; ipRange?: string }>;
  enableIpv6: boolean;
  /** Whether users made it (the predefined bridge, host and none cannot be removed). */
  isPredefined: boolean;
  containers: Record<string, NetworkEndpointInfo>;
}

export interface NetworkEndpointInfo {
  name: string;
  endpointId: string;
  macAddress: string;
  /** CIDR, e.g. `172.19.0.2/16`. */
  ipv4Address: string;
  /** CIDR, e.g. `fd00:beef::2/64`; '' without IPv6. */
  ipv6Address: string;
}

export interface CreateNetworkRequest {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** `--ipv6`: dual stack; without `subnet6`, a /64 comes from the daemon's ULA prefix. */
  enableIpv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/**
 * Container networking on one host: the predefined `bridge`, `host` and `none`
 * networks, user-defined bridge, macvlan and ipvlan networks, published ports and an
 * embedded DNS server per user-defined bridge. An attachment is made before the
 * container is created and released after it has stopped; both are idempotent and
 * survive a daemon restart. References to networks are a name, a full id or a unique
 * id prefix; unknown ones give NotFoundError(`network REF not found`).
 */
export interface NetworkService {
  /** Creates the bridges, addresses and rules if missing; reloads networks and leases. */
  init(): Promise<void>;
  /** InvalidArgumentError for a mode that names no network. */
  attach(request: AttachRequest): Promise<NetworkAttachment>;
  release(containerId: string): Promise<void>;
  /** Re-marks an attachment found on disk at start as in use. */
  adopt(containerId: string, attachment: NetworkAttachment): void;
  /** ConflictError for a name in use or a subnet that overlaps; InvalidArgumentError for bad options. */
  createNetwork(request: CreateNetworkRequest): Promise<NetworkInfo>;
  listNetworks(): NetworkInfo[];
  inspectNetwork(ref: string): NetworkInfo;
  /** Refuses, before a container is made, an endpoint its network could not give it (a bad `--ip`). */
  checkEndpoint(network: string, endpoint: EndpointRequest): void;
  /** ConflictError while containers are attached; ForbiddenError for a predefined network. */
  removeNetwork(ref: string): Promise<void>;
  /** Adds a running container (its current attachment) to one more network. */
  connect(
    attachment: NetworkAttachment,
    request: { containerId: string; containerName: string; network: string; endpoint: EndpointRequest },
  ): Promise<NetworkAttachment>;
  disconnect(
    attachment: NetworkAttachment,
    request: { containerId: string; network: string },
  ): Promise<NetworkAttachment>;
  /** With teardown, removes the bridges, the nft table and every namespace we made (tests). */
  close(opts?: { teardown?: boolean }): Promise<void>;
}
