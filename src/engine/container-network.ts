/**
 * The network side of a container's start: checks made at create, and the attachment a
 * start needs (a network of ours, or another container's namespace with `container:X`).
 */
import type { EndpointSettings, HostConfig } from '../api/index.js';
import { ConflictError, InvalidArgumentError } from '../api/index.js';
import type { ContainerRecord } from './container-store.js';
import {
  addresslessEndpoint,
  type EndpointRequest,
  type NetworkAttachment,
  type NetworkService,
  networkSettings,
  parsePortKey,
} from './network/index.js';

/** What these functions need of the engine: the network service and container lookup. */
export interface NetworkContext {
  network: NetworkService;
  /** A container by reference; NotFoundError when there is none. */
  get: (ref: string) => ContainerRecord;
}

export interface NetworkStart {
  attachment: NetworkAttachment;
  /** `container:X` shares X's hostname too. */
  hostnameOfNamespace?: string;
  /** `name:ip` lines for legacy links on the default bridge. */
  linkHosts?: string[];
}

/** Refuses at create what would only fail at start: an unknown network, a bad port, a bad mode. */
export function checkNetworkRequest(
  ctx: NetworkContext,
  hostConfig: HostConfig,
  endpoints: Record<string, EndpointRequest>,
): void {
  const mode = hostConfig.NetworkMode || 'bridge';
  if (mode.startsWith('container:')) {
    ctx.get(mode.slice('container:'.length));
    if (Object.keys(hostConfig.PortBindings ?? {}).length > 0) {
      throw new InvalidArgumentError(
        'conflicting options: port publishing and the container type network mode',
      );
    }
  } else if (!['bridge', 'default', 'host', 'none'].includes(mode)) {
    ctx.network.inspectNetwork(mode);
  }
  for (const [ref, endpoint] of Object.entries(endpoints)) ctx.network.checkEndpoint(ref, endpoint);
  for (const key of Object.keys(hostConfig.PortBindings ?? {})) parsePortKey(key);
}

/** The container's networks for a start; `container:X` joins X's namespace. */
export async function attachNetwork(
  ctx: NetworkContext,
  record: ContainerRecord,
  mode: string,
): Promise<NetworkStart> {
  if (mode.startsWith('container:')) {
    const target = ctx.get(mode.slice('container:'.length));
    if (target.state.status !== 'running' || target.state.pid <= 0) {
      throw new ConflictError(`cannot join network namespace of a non running container: ${target.id}`);
    }
    const shared = target.network;
    const namespace = shared?.namespace === 'host' ? 'host' : { path: `/proc/${target.state.pid}/ns/net` };
    const attachment: NetworkAttachment = {
      mode: `container:${target.id}`,
      namespace,
      settings: networkSettings({
        networkName: 'container',
        endpoint: addresslessEndpoint('', ''),
        sandboxId: '',
        sandboxKey: '',
      }),
      ipAddress: shared?.ipAddress ?? '',
      ...(shared?.dnsServer === undefined ? {} : { dnsServer: shared.dnsServer }),
      ...(shared?.hostGateway === undefined ? {} : { hostGateway: shared.hostGateway }),
    };
    attachment.settings.Networks = {};
    return { attachment, hostnameOfNamespace: target.config.Hostname || target.id.slice(0, 12) };
  }
  const requestedLinks = Array.isArray(record.hostConfig.Links) ? (record.hostConfig.Links as unknown[]) : [];
  const links = requestedLinks.map(String).map((link) => {
    const [target = '', alias] = link.split(':');
    const name = ctx.get(target).name.slice(1);
    return { name, alias: (alias ?? name).replace(/^.*\//, '') };
  });
  const attachment = await ctx.network.attach({
    containerId: record.id,
    containerName: record.name.slice(1),
    mode,
    endpoints: record.endpointsConfig ?? {},
    links,
    portBindings: record.hostConfig.PortBindings ?? {},
    publishAll: record.hostConfig.PublishAllPorts === true,
    exposedPorts: Object.keys(record.config.ExposedPorts ?? {}),
    dnsServers: record.hostConfig.Dns ?? [],
  });
  // The default bridge has no DNS server: as in Docker, legacy links are /etc/hosts lines.
  const isDefaultBridge = mode === 'bridge' || mode === 'default';
  const linkHosts = isDefaultBridge
    ? links.flatMap(({ name, alias }) => {
        const ip = ctx.get(name).network?.ipAddress;
        return ip ? [`${alias}:${ip}`, ...(alias === name ? [] : [`${name}:${ip}`])] : [];
      })
    : [];
  return { attachment, linkHosts };
}

/** Docker's EndpointsConfig as the network service takes it. */
export function endpointRequestsOf(
  config: Record<string, Partial<EndpointSettings>> | undefined,
): Record<string, EndpointRequest> {
  const requests: Record<string, EndpointRequest> = {};
  for (const [network, e] of Object.entries(config ?? {})) {
    const ipam = (e.IPAMConfig ?? {}) as { IPv4Address?: string; IPv6Address?: string };
    requests[network] = {
      ...(e.Aliases?.length ? { aliases: [...e.Aliases] } : {}),
      ...(ipam.IPv4Address ? { ipv4Address: ipam.IPv4Address } : {}),
      ...(ipam.IPv6Address ? { ipv6Address: ipam.IPv6Address } : {}),
      ...(e.MacAddress ? { macAddress: e.MacAddress } : {}),
    };
  }
  return requests;
}
