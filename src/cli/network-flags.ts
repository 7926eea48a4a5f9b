import { isIP } from 'node:net';
import type { Command } from 'commander';
import type { EndpointSettings, HostConfig, PortBinding } from '../api/index.js';
import { UsageError } from './errors.js';
import { collect } from './options.js';

/** The network flags of `run` and `create`, as commander parses them. */
export interface NetworkFlags {
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  ip?: string;
  networkAlias?: string[];
  link?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  dnsOpt?: string[];
  addHost?: string[];
  macAddress?: string;
}

/** What the network flags add to a create request. */
export interface NetworkRequest {
  host: HostConfig;
  exposedPorts: Record<string, object>;
  /** NetworkingConfig.EndpointsConfig; empty when no endpoint option was given. */
  endpoints: Record<string, Partial<EndpointSettings>>;
}

export function addNetworkFlags(cmd: Command): Command {
  return cmd
    .option('--network <network>', 'Connect a container to a network')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--link <list>', 'Add link to another container', collect)
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .addOption(hiddenListOption(cmd, '--dns-opt <list>', 'Set DNS options'))
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)');
}

function hiddenListOption(cmd: Command, flags: string, description: string) {
  return cmd.createOption(flags, description).argParser(collect).hideHelp();
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/** `8000-8010` or `80` as [start, end]; undefined when it does not parse. */
function parsePortRange(text: string): [number, number] | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

/** Splits `[ip:][host:]container` where the ip may be a bracketed or bare IPv6 address. */
function splitPublishSpec(spec: string): { ip: string; host: string; container: string } {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (bracketed) {
    const rest = bracketed[2] ?? '';
    const colon = rest.indexOf(':');
    if (colon < 0) return { ip: bracketed[1] ?? '', host: rest, container: '' };
    return { ip: bracketed[1] ?? '', host: rest.slice(0, colon), container: rest.slice(colon + 1) };
  }
  const parts = spec.split(':');
  if (parts.length === 1) return { ip: '', host: '', container: parts[0] ?? '' };
  if (parts.length === 2) return { ip: '', host: parts[0] ?? '', container: parts[1] ?? '' };
  const container = parts.pop() ?? '';
  const host = parts.pop() ?? '';
  return { ip: parts.join(':'), host, container };
}

/** docker's long syntax, `target=80,published=8080,protocol=udp`, in the short one. */
function shortPublishSpec(spec: string): string {
  if (!spec.includes('=')) return spec;
  const fields: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid field '${part}' must be a key=value pair`);
    fields[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  for (const key of Object.keys(fields)) {
    if (!['target', 'published', 'protocol', 'mode'].includes(key))
      throw new UsageError(`invalid field key ${key}`);
  }
  if (!fields.target) throw new UsageError('missing mandatory field "target"');
  const published = fields.published ? `${fields.published}:` : '';
  return `${published}${fields.target}/${fields.protocol || 'tcp'}`;
}

/**
 * `-p [ip:][hostPort:]containerPort[/proto]` as docker reads it: ranges on both sides
 * map one to one, a host range for one container port lets the daemon pick within it.
 */
export function parsePublishSpec(raw: string): Array<{ key: string; binding: PortBinding }> {
  const spec = shortPublishSpec(raw);
  const slash = spec.lastIndexOf('/');
  const body = slash < 0 ? spec : spec.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (!PROTOCOLS.includes(proto)) throw new UsageError(`invalid proto: ${proto}`);
  const { ip, host, container } = splitPublishSpec(body);
  if (ip !== '' && isIP(ip) === 0) throw new UsageError(`invalid IP address: ${ip}`);
  if (container === '') throw new UsageError(`no port specified: ${spec}<empty>`);
  const containerRange = parsePortRange(container);
  if (!containerRange) throw new UsageError(`invalid containerPort: ${container}`);
  const hostRange = host === '' ? undefined : parsePortRange(host);
  if (host !== '' && !hostRange) throw new UsageError(`invalid hostPort: ${host}`);
  const [start, end] = containerRange;
  const isSameLength = hostRange !== undefined && hostRange[1] - hostRange[0] === end - start;
  if (hostRange && !isSameLength && end !== start) {
    throw new UsageError(`invalid ranges specified for container and host Ports: ${container} and ${host}`);
  }
  const mappings: Array<{ key: string; binding: PortBinding }> = [];
  for (let port = start; port <= end; port++) {
    let hostPort = '';
    if (hostRange) {
      hostPort = isSameLength ? String(hostRange[0] + port - start) : `${hostRange[0]}-${hostRange[1]}`;
    }
    mappings.push({ key: `${port}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } });
  }
  return mappings;
}

/** `--expose 80`, `--expose 8000-8010/udp`: the ExposedPorts keys it adds. */
export function parseExposeSpec(spec: string): string[] {
  const slash = spec.lastIndexOf('/');
  const ports = slash < 0 ? spec : spec.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (!PROTOCOLS.includes(proto)) throw new UsageError(`invalid proto: ${proto}`);
  const range = parsePortRange(ports);
  if (!range) {
    // Go's strconv words, as docker passes them on.
    const part = ports.split('-').find((p) => !/^\d+$/.test(p) || Number(p) > 65535) ?? ports;
    const why = /^\d+$/.test(part) ? 'value out of range' : 'invalid syntax';
    throw new UsageError(
      `invalid range format for --expose: ${spec}, error: strconv.ParseUint: parsing "${part}": ${why}`,
    );
  }
  const keys: string[] = [];
  for (let port = range[0]; port <= range[1]; port++) keys.push(`${port}/${proto}`);
  return keys;
}

/** Docker's `ValidateExtraHost`: `name:ip` or `name=ip`, the ip possibly bracketed, or `host-gateway`. */
export function validateExtraHost(entry: string): string {
  let eq = entry.indexOf('=');
  if (eq < 0) eq = entry.indexOf(':');
  if (eq <= 0)
    throw new UsageError(
      `invalid argument "${entry}" for "--add-host" flag: bad format for add-host: "${entry}"`,
    );
  let address = entry.slice(eq + 1);
  if (address === 'host-gateway') return entry;
  if (address.length > 2 && address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  if (isIP(address) === 0) {
    throw new UsageError(
      `invalid argument "${entry}" for "--add-host" flag: invalid IP address in add-host: "${address}"`,
    );
  }
  return entry;
}

function validateDnsServer(address: string): string {
  if (isIP(address) === 0)
    throw new UsageError(`invalid argument "${address}" for "--dns" flag: ${address} is not an ip address`);
  return address;
}

function validateDnsSearch(domain: string): string {
  if (domain === '.') return domain;
  const name = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  const isDomain =
    name.length <= 255 &&
    /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(name);
  if (!isDomain)
    throw new UsageError(
      `invalid argument "${domain}" for "--dns-search" flag: ${domain} is not a valid domain`,
    );
  return domain;
}

function validateLink(link: string): string {
  const [name = '', alias, extra] = link.split(':');
  if (name === '' || alias === '' || extra !== undefined) {
    throw new UsageError(`invalid argument "${link}" for "--link" flag: bad format for links: ${link}`);
  }
  return link;
}

function validateMacAddress(mac: string): string {
  if (!/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(mac))
    throw new UsageError(`${mac} is not a valid mac address`);
  return mac;
}

/** Docker's NetworkMode.IsUserDefined: anything but the predefined modes. */
function isUserDefined(mode: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

/** The HostConfig, ExposedPorts and EndpointsConfig that the network flags ask for. */
export function applyNetworkFlags(flags: NetworkFlags): NetworkRequest {
  const host: HostConfig = {};
  const exposedPorts: Record<string, object> = {};
  if (flags.network !== undefined) host.NetworkMode = flags.network;
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of flags.publish ?? []) {
    for (const { key, binding } of parsePublishSpec(spec)) {
      bindings[key] = [...(bindings[key] ?? []), binding];
      exposedPorts[key] = {};
    }
  }
  if (Object.keys(bindings).length > 0) host.PortBindings = bindings;
  if (flags.publishAll) host.PublishAllPorts = true;
  for (const spec of flags.expose ?? []) for (const key of parseExposeSpec(spec)) exposedPorts[key] = {};
  if (flags.link?.length) host.Links = flags.link.map(validateLink);
  if (flags.dns?.length) host.Dns = flags.dns.map(validateDnsServer);
  if (flags.dnsSearch?.length) host.DnsSearch = flags.dnsSearch.map(validateDnsSearch);
  const dnsOptions = [...(flags.dnsOption ?? []), ...(flags.dnsOpt ?? [])];
  if (dnsOptions.length > 0) host.DnsOptions = dnsOptions;
  if (flags.addHost?.length) host.ExtraHosts = flags.addHost.map(validateExtraHost);

  const endpoint: Partial<EndpointSettings> = {};
  if (flags.ip !== undefined) {
    if (isIP(flags.ip) !== 4)
      throw new UsageError(
        `invalid argument "${flags.ip}" for "--ip" flag: invalid string being converted to IP address: ${flags.ip}`,
      );
    endpoint.IPAMConfig = { IPv4Address: flags.ip };
  }
  if (flags.networkAlias?.length) endpoint.Aliases = [...flags.networkAlias];
  if (flags.macAddress !== undefined) endpoint.MacAddress = validateMacAddress(flags.macAddress);
  const target = flags.network ?? 'default';
  if (isUserDefined(target)) {
    // On a user-defined network docker also sends `--link` as the endpoint's links (aliases).
    if (flags.link?.length) endpoint.Links = [...flags.link];
  } else if (endpoint.Aliases) {
    throw new UsageError('network-scoped aliases are only supported for user-defined networks');
  }
  // Like docker, a network with no endpoint options is left out; the daemon makes its endpoint anyway.
  const endpoints: Record<string, Partial<EndpointSettings>> = Object.keys(endpoint).length > 0
    ? { [target]: endpoint }
    : {};
  return { host, exposedPorts, endpoints };
}
