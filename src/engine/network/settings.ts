// Docker's NetworkSettings shapes for inspect, built from what an attachment knows.
import type { EndpointSettings, NetworkSettings } from '../../api/index.js';

export interface EndpointAddresses {
  networkId: string;
  endpointId: string;
  gateway: string;
  ipAddress: string;
  prefixLength: number;
  macAddress: string;
}

export function endpointSettings(a: EndpointAddresses): EndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: a.macAddress,
    NetworkID: a.networkId,
    EndpointID: a.endpointId,
    Gateway: a.gateway,
    IPAddress: a.ipAddress,
    IPPrefixLen: a.prefixLength,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DriverOpts: null,
    DNSNames: null,
  };
}

/** An endpoint with no addresses, as on the host and none networks. */
export function addresslessEndpoint(networkId: string, endpointId: string): EndpointSettings {
  return endpointSettings({
    networkId,
    endpointId,
    gateway: '',
    ipAddress: '',
    prefixLength: 0,
    macAddress: '',
  });
}

/**
 * Settings of a container on one network. The top-level address fields are Docker's
 * legacy copy of the default bridge endpoint; they stay empty for any other network.
 */
export function networkSettings(opts: {
  networkName: string;
  endpoint: EndpointSettings;
  sandboxId: string;
  sandboxKey: string;
}): NetworkSettings {
  const { endpoint } = opts;
  const isDefaultBridge = opts.networkName === 'bridge';
  return {
    Bridge: '',
    SandboxID: opts.sandboxId,
    SandboxKey: opts.sandboxKey,
    Ports: {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: isDefaultBridge ? endpoint.EndpointID : '',
    Gateway: isDefaultBridge ? endpoint.Gateway : '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: isDefaultBridge ? endpoint.IPAddress : '',
    IPPrefixLen: isDefaultBridge ? endpoint.IPPrefixLen : 0,
    IPv6Gateway: '',
    MacAddress: isDefaultBridge ? endpoint.MacAddress : '',
    Networks: { [opts.networkName]: endpoint },
  };
}
