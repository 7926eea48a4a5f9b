// User-defined networks: bridge (own bridge device, NAT, isolation, embedded DNS),
// macvlan and ipvlan (links on a parent interface). Their records and leases live in
// user-store.ts; this file turns requests into records and records into kernel state.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { EndpointSettings } from '../../api/index.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  messageOf,
  NotFoundError,
} from '../../api/index.js';
import {
  applyNft,
  enableIpv6Forwarding,
  enableRouteLocalnet,
  listAddresses,
  listNetns,
  listRoutes,
  listRoutes6,
  showLink,
} from '../../platform/index.js';
import {
  addBridgeInterface,
  addParentInterface,
  ensureBridge,
  ensureBridgeIpv6,
  ensureNetns,
  removeBridge,
  removeInterface,
} from './bridge.js';
import { type DnsServer, nameserversOf, startDnsServer } from './dns/index.js';
import {
  firstFreeSubnet,
  firstHostAddress,
  formatCidr,
  type Ipv4Cidr,
  isHostAddress,
  macFromIpv4,
  nextFreeAddress,
  parseCidr,
  parseIpv4,
  parseSubnet,
  subnetContains,
  subnetOf,
  subnetsOverlap,
} from './ipam.js';
import {
  firstFreeSubnet6,
  firstHostAddress6,
  formatCidr6,
  formatIpv6,
  type Ipv6Cidr,
  isHostAddress6,
  isIpv6Text,
  nextFreeAddress6,
  parseCidr6,
  parseIpv6,
  parseSubnet6,
  subnetOf6,
  subnetsOverlap6,
  ulaPrefixOf,
} from './ipam6.js';
import { networkRulesTransaction } from './rules.js';
import { endpointSettings } from './settings.js';
import { randomHexId } from './state.js';
import type { AddressPool, CreateNetworkRequest, EndpointRequest } from './types.js';
import {
  loadUserNetworks,
  removeUserNetwork,
  saveUserNetwork,
  type UserLease,
  type UserNetworkRecord,
} from './user-store.js';

/** Docker's option naming the bridge device of a network. */
export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
const MAX_INTERFACE_NAME = 15;
/** Docker's default pools: 172.17-31.x.x as /16s, then 192.168.x.x as /20s. */
export const DEFAULT_ADDRESS_POOLS: AddressPool[] = [
  { base: '172.17.0.0/12', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

export interface UserNetworksOptions {
  stateDir: string;
  nftTable: string;
  defaultBridge: string;
  defaultSubnet: Ipv4Cidr;
  bridgePrefix: string;
  addressPools: AddressPool[];
}

export interface JoinRequest {
  containerId: string;
  containerName: string;
  netns: string;
  ifname: string;
  /** The first network of a container gives it its default route. */
  isPrimary: boolean;
  endpoint: EndpointRequest;
  links: Array<{ name: string; alias: string }>;
  dnsServers: string[];
}

function isValidName(name: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name);
}

export class UserNetworks {
  readonly records = new Map<string, UserNetworkRecord>();
  private readonly dns = new Map<string, DnsServer>();

  constructor(private readonly opts: UserNetworksOptions) {}

  /** Loads records, drops leases whose namespace is gone, and rebuilds devices, rules and DNS. */
  async init(): Promise<void> {
    this.hostResolvers = nameserversOf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    const namespaces = new Set(await listNetns());
    for (const record of await loadUserNetworks(this.opts.stateDir)) {
      let changed = false;
      for (const containerId of Object.keys(record.leases)) {
        if (!namespaces.has(this.netnsOf(containerId))) {
          delete record.leases[containerId];
          changed = true;
        }
      }
      this.records.set(record.id, record);
      if (changed) await saveUserNetwork(this.opts.stateDir, record);
      await this.setUp(record);
    }
    await this.applyRules();
  }

  /** Set by the service: the namespace name of a container. */
  netnsOf: (containerId: string) => string = (id) => id;

  find(ref: string): UserNetworkRecord | undefined {
    const byId = this.records.get(ref);
    if (byId) return byId;
    for (const r of this.records.values()) if (r.name === ref) return r;
    const matches = ref.length > 0 ? [...this.records.values()].filter((r) => r.id.startsWith(ref)) : [];
    if (matches.length === 1) return matches[0];
    if (matches.length > 1)
      throw new InvalidArgumentError(
        `network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`,
      );
    return undefined;
  }

  async create(request: CreateNetworkRequest, takenNames: ReadonlySet<string>): Promise<UserNetworkRecord> {
    const { name } = request;
    if (!isValidName(name))
      throw new InvalidArgumentError(`invalid network name "${name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
    if (takenNames.has(name) || [...this.records.values()].some((r) => r.name === name)) {
      throw new ConflictError(`network with name ${name} already exists`);
    }
    const driver = request.driver || 'bridge';
    if (driver !== 'bridge' && driver !== 'macvlan' && driver !== 'ipvlan') {
      throw new NotFoundError(`plugin "${driver}" not found`);
    }
    const options = { ...(request.options ?? {}) };
    const subnet = await this.chooseSubnet(request);
    const v6 = await this.chooseIpv6(request);
    let gateway = firstHostAddress(subnet);
    if (request.gateway) {
      parseIpv4(request.gateway);
      if (!isHostAddress(subnet, request.gateway)) {
        throw new InvalidArgumentError(`no matching subnet for gateway ${request.gateway}`);
      }
      gateway = request.gateway;
    }
    let ipRange: string | undefined;
    if (request.ipRange) {
      const range = parseSubnet(request.ipRange);
      if (!subnetContains(subnet, range.address) || range.prefixLength < subnet.prefixLength) {
        throw new InvalidArgumentError(`no matching subnet for range ${request.ipRange}`);
      }
      ipRange = formatCidr(range);
    }
    const id = randomHexId();
    let device: string;
    if (driver === 'bridge') {
      device = options[BRIDGE_NAME_OPTION] || this.bridgeNameOf(id);
      if (!/^[A-Za-z0-9_.-]+$/.test(device) || device.length > MAX_INTERFACE_NAME) {
        throw new InvalidArgumentError(`invalid bridge name: ${JSON.stringify(device)}`);
      }
      const holder = [...this.records.values()].find((r) => r.driver === 'bridge' && r.device === device);
      if (device === this.opts.defaultBridge || holder) {
        throw new ConflictError(`bridge name ${device} is already used by another network`);
      }
      // A generated device name stays out of Options, as with dockerd: docker-compose compares
      // Options with its file and would otherwise want to recreate the network every time.
    } else {
      const parent = options.parent;
      if (!parent)
        throw new InvalidArgumentError(`${driver} networks need a parent interface: -o parent=<interface>`);
      if ((await showLink(parent)) === undefined) {
        throw new NotFoundError(`-o parent interface was not found on the host: ${parent}`);
      }
      device = parent;
    }
    const record: UserNetworkRecord = {
      version: 1,
      id,
      name,
      driver,
      created: new Date().toISOString(),
      internal: request.internal === true,
      attachable: request.attachable === true,
      labels: request.labels ?? {},
      options,
      subnet: formatCidr(subnet),
      gateway,
      ...(ipRange === undefined ? {} : { ipRange }),
      ...(v6 === undefined ? {} : { subnet6: formatCidr6(v6.subnet), gateway6: v6.gateway }),
      device,
      leases: {},
    };
    await saveUserNetwork(this.opts.stateDir, record);
    this.records.set(id, record);
    try {
      await this.setUp(record);
      await this.applyRules();
    } catch (e) {
      await this.tearDown(record).catch(() => undefined);
      this.records.delete(id);
      await removeUserNetwork(this.opts.stateDir, id);
      await this.applyRules().catch(() => undefined);
      throw e;
    }
    return record;
  }

  async remove(record: UserNetworkRecord): Promise<void> {
    if (Object.keys(record.leases).length > 0) {
      throw new ForbiddenError(
        `error while removing network: network ${record.name} id ${record.id} has active endpoints`,
      );
    }
    this.records.delete(record.id);
    await this.applyRules();
    await this.tearDown(record);
    await removeUserNetwork(this.opts.stateDir, record.id);
  }

  /** Leases an address and plumbs the interface; undone whole on failure. */
  async join(record: UserNetworkRecord, req: JoinRequest): Promise<EndpointSettings> {
    if (record.leases[req.containerId] !== undefined) {
      throw new ForbiddenError(
        `endpoint with name ${req.containerName} already exists in network ${record.name}`,
      );
    }
    const subnet = parseCidr(record.subnet);
    const ipAddress = this.chooseAddress(record, req.endpoint.ipv4Address);
    const ipv6Address = this.chooseAddress6(record, req.endpoint.ipv6Address);
    const subnet6 = record.subnet6 === undefined ? undefined : parseCidr6(record.subnet6);
    const lease: UserLease = {
      containerName: req.containerName,
      ipAddress,
      macAddress: req.endpoint.macAddress || macFromIpv4(ipAddress),
      endpointId: randomHexId(),
      ifname: req.ifname,
      ...(record.driver === 'bridge' ? { hostVeth: `veth${randomHexId().slice(0, 7)}` } : {}),
      aliases: req.endpoint.aliases ?? [],
      links: req.links,
      dnsServers: req.dnsServers,
      isStatic: req.endpoint.ipv4Address !== undefined && req.endpoint.ipv4Address !== '',
      ...(ipv6Address === undefined
        ? {}
        : {
            ipv6Address,
            isStatic6: req.endpoint.ipv6Address !== undefined && req.endpoint.ipv6Address !== '',
          }),
    };
    record.leases[req.containerId] = lease;
    try {
      await saveUserNetwork(this.opts.stateDir, record);
      await ensureNetns(req.netns);
      const plumbing = {
        netns: req.netns,
        ifname: lease.ifname,
        macAddress: lease.macAddress,
        address: { address: ipAddress, prefixLength: subnet.prefixLength },
        ...(req.isPrimary && !record.internal ? { defaultGateway: record.gateway } : {}),
        ...(ipv6Address === undefined || subnet6 === undefined
          ? {}
          : { address6: { address: ipv6Address, prefixLength: subnet6.prefixLength } }),
        ...(req.isPrimary && !record.internal && record.gateway6 !== undefined
          ? { defaultGateway6: record.gateway6 }
          : {}),
      };
      if (record.driver === 'bridge') {
        await addBridgeInterface({ ...plumbing, bridgeName: record.device, hostVeth: lease.hostVeth ?? '' });
      } else {
        await addParentInterface({ ...plumbing, parent: record.device, type: record.driver });
      }
    } catch (e) {
      await removeInterface(req.netns, lease.ifname, lease.hostVeth).catch(() => undefined);
      delete record.leases[req.containerId];
      await saveUserNetwork(this.opts.stateDir, record).catch(() => undefined);
      throw e;
    }
    return this.endpointOf(record, req.containerId, lease);
  }

  endpointOf(record: UserNetworkRecord, containerId: string, lease: UserLease): EndpointSettings {
    const endpoint = endpointSettings({
      networkId: record.id,
      endpointId: lease.endpointId,
      gateway: record.gateway,
      ipAddress: lease.ipAddress,
      prefixLength: parseCidr(record.subnet).prefixLength,
      macAddress: lease.macAddress,
    });
    endpoint.Aliases = lease.aliases.length > 0 ? [...lease.aliases] : null;
    endpoint.Links = lease.links.length > 0 ? lease.links.map((l) => `${l.name}:${l.alias}`) : null;
    endpoint.DNSNames = [lease.containerName, containerId.slice(0, 12), ...lease.aliases];
    const ipamConfig: { IPv4Address?: string; IPv6Address?: string } = {};
    if (lease.isStatic) ipamConfig.IPv4Address = lease.ipAddress;
    if (lease.ipv6Address !== undefined && record.subnet6 !== undefined) {
      endpoint.GlobalIPv6Address = lease.ipv6Address;
      endpoint.GlobalIPv6PrefixLen = parseCidr6(record.subnet6).prefixLength;
      endpoint.IPv6Gateway = record.gateway6 ?? '';
      if (lease.isStatic6) ipamConfig.IPv6Address = lease.ipv6Address;
    }
    if (Object.keys(ipamConfig).length > 0) endpoint.IPAMConfig = ipamConfig;
    return endpoint;
  }

  /** Removes the container's interface and lease from one network. */
  async leave(record: UserNetworkRecord, containerId: string): Promise<void> {
    const lease = record.leases[containerId];
    if (lease === undefined) return;
    await removeInterface(this.netnsOf(containerId), lease.ifname, lease.hostVeth);
    delete record.leases[containerId];
    await saveUserNetwork(this.opts.stateDir, record);
  }

  /** Every network the container has a lease on. */
  networksOf(containerId: string): UserNetworkRecord[] {
    return [...this.records.values()].filter((r) => r.leases[containerId] !== undefined);
  }

  async close(opts: { teardown: boolean }): Promise<void> {
    await Promise.all([...this.dns.values()].map((s) => s.close()));
    this.dns.clear();
    if (!opts.teardown) return;
    for (const record of this.records.values()) {
      if (record.driver === 'bridge') await removeBridge(record.device);
    }
  }

  private bridgeNameOf(id: string): string {
    return this.opts.bridgePrefix + id.slice(0, MAX_INTERFACE_NAME - this.opts.bridgePrefix.length);
  }

  private async chooseSubnet(request: CreateNetworkRequest): Promise<Ipv4Cidr> {
    const ours = [this.opts.defaultSubnet, ...[...this.records.values()].map((r) => parseCidr(r.subnet))];
    if (request.subnet) {
      if (request.subnet.includes(':')) throw new InvalidArgumentError('IPv6 subnets are not supported yet');
      const subnet = parseSubnet(request.subnet);
      if (subnet.prefixLength > 30) throw new InvalidArgumentError(`subnet ${request.subnet} is too small`);
      if (ours.some((o) => subnetsOverlap(o, subnet))) {
        throw new ForbiddenError('invalid pool request: Pool overlaps with other one on this address space');
      }
      return subnet;
    }
    if (request.gateway || request.ipRange) {
      throw new InvalidArgumentError('every ip-range or gateway must have a corresponding subnet');
    }
    const host: Ipv4Cidr[] = [];
    for (const link of await listAddresses()) {
      for (const a of link.addr_info)
        if (a.family === 'inet') host.push(subnetOf({ address: a.local, prefixLength: a.prefixlen }));
    }
    for (const route of await listRoutes()) {
      if (route.dst === 'default') continue;
      host.push(route.dst.includes('/') ? parseCidr(route.dst) : { address: route.dst, prefixLength: 32 });
    }
    const taken = [...ours, ...host];
    for (const pool of this.opts.addressPools) {
      const found = firstFreeSubnet(parseCidr(pool.base), pool.size, taken);
      if (found) return found;
    }
    throw new ForbiddenError(
      'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
    );
  }

  /**
   * The v6 subnet and gateway of a network made with `--ipv6`: the one asked for, or the
   * first free /64 of the daemon's ULA prefix (Docker 27+ does the same), avoiding the
   * host's own v6 addresses and routes. A v6 subnet without `--ipv6` is refused.
   */
  private async chooseIpv6(
    request: CreateNetworkRequest,
  ): Promise<{ subnet: Ipv6Cidr; gateway: string } | undefined> {
    if (!request.enableIpv6) {
      if (request.subnet6 || request.gateway6) {
        throw new InvalidArgumentError(
          'an IPv6 subnet or gateway needs IPv6 enabled on the network: add --ipv6',
        );
      }
      return undefined;
    }
    const ours = [...this.records.values()].flatMap((r) => (r.subnet6 ? [parseCidr6(r.subnet6)] : []));
    let subnet: Ipv6Cidr;
    if (request.subnet6) {
      subnet = parseSubnet6(request.subnet6);
      if (ours.some((o) => subnetsOverlap6(o, subnet))) {
        throw new ForbiddenError('invalid pool request: Pool overlaps with other one on this address space');
      }
    } else {
      if (request.gateway6) {
        throw new InvalidArgumentError('every ip-range or gateway must have a corresponding subnet');
      }
      const host: Ipv6Cidr[] = [];
      for (const link of await listAddresses()) {
        for (const a of link.addr_info)
          if (a.family === 'inet6') host.push(subnetOf6({ address: a.local, prefixLength: a.prefixlen }));
      }
      for (const route of await listRoutes6()) {
        if (route.dst === 'default' || !isIpv6Text(route.dst)) continue;
        host.push(
          route.dst.includes('/') ? parseCidr6(route.dst) : { address: route.dst, prefixLength: 128 },
        );
      }
      const seed = createHash('sha256').update(`berth ula ${this.opts.stateDir}`).digest();
      const found = firstFreeSubnet6(ulaPrefixOf(seed), 64, [...ours, ...host]);
      if (found === undefined) {
        throw new ForbiddenError(
          'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network',
        );
      }
      subnet = found;
    }
    let gateway = firstHostAddress6(subnet);
    if (request.gateway6) {
      const asked = formatIpv6Text(request.gateway6);
      if (!isHostAddress6(subnet, asked)) {
        throw new InvalidArgumentError(`no matching subnet for gateway ${request.gateway6}`);
      }
      gateway = asked;
    }
    return { subnet, gateway };
  }

  /** A v6 address on a dual-stack network (undefined on others); `--ip6` if given. */
  chooseAddress6(record: UserNetworkRecord, requested: string | undefined): string | undefined {
    if (record.subnet6 === undefined) {
      if (requested) {
        throw new InvalidArgumentError(
          `Invalid address ${requested}: It does not belong to any of this network's subnets`,
        );
      }
      return undefined;
    }
    const subnet = parseCidr6(record.subnet6);
    const inUse = new Set([
      record.gateway6 ?? '',
      ...Object.values(record.leases).map((l) => l.ipv6Address ?? ''),
    ]);
    if (requested) {
      const address = formatIpv6Text(requested);
      if (!isHostAddress6(subnet, address)) {
        throw new InvalidArgumentError(
          `Invalid address ${requested}: It does not belong to any of this network's subnets`,
        );
      }
      if (inUse.has(address)) throw new ConflictError('Address already in use');
      return address;
    }
    const free = nextFreeAddress6(subnet, inUse);
    if (free === undefined) throw new ConflictError(`no available IPv6 addresses on network ${record.name}`);
    return free;
  }

  chooseAddress(record: UserNetworkRecord, requested: string | undefined): string {
    const subnet = parseCidr(record.subnet);
    const inUse = new Set([record.gateway, ...Object.values(record.leases).map((l) => l.ipAddress)]);
    if (requested) {
      parseIpv4(requested);
      if (!isHostAddress(subnet, requested)) {
        throw new InvalidArgumentError(
          `Invalid address ${requested}: It does not belong to any of this network's subnets`,
        );
      }
      if (inUse.has(requested)) throw new ConflictError('Address already in use');
      return requested;
    }
    const range = record.ipRange === undefined ? subnet : parseCidr(record.ipRange);
    const free = nextFreeAddress(range, new Set([...inUse, subnetOf(subnet).address]));
    if (free === undefined || !isHostAddress(subnet, free)) {
      throw new ConflictError(`no available IPv4 addresses on network ${record.name}`);
    }
    return free;
  }

  private async setUp(record: UserNetworkRecord): Promise<void> {
    if (record.driver !== 'bridge') return;
    const subnet = parseCidr(record.subnet);
    await ensureBridge(record.device, { address: record.gateway, prefixLength: subnet.prefixLength });
    await enableRouteLocalnet(record.device);
    if (record.subnet6 !== undefined && record.gateway6 !== undefined) {
      // Only once a v6 network exists: forwarding changes how the host treats router adverts.
      await enableIpv6Forwarding();
      await ensureBridgeIpv6(record.device, {
        address: record.gateway6,
        prefixLength: parseCidr6(record.subnet6).prefixLength,
      });
    }
    if (!this.dns.has(record.id)) {
      const server = await startDnsServer(record.gateway, {
        lookup: (clientIp, name) => this.lookup(record.id, clientIp, name),
        upstreams: (clientIp) => this.upstreams(record.id, clientIp),
      }).catch((e: unknown) => {
        throw new ConflictError(
          `cannot start the DNS server of network ${record.name} on ${record.gateway}: ${messageOf(e)}`,
          { cause: e },
        );
      });
      this.dns.set(record.id, server);
    }
  }

  private async tearDown(record: UserNetworkRecord): Promise<void> {
    await this.dns.get(record.id)?.close();
    this.dns.delete(record.id);
    if (record.driver === 'bridge') await removeBridge(record.device);
  }

  async applyRules(): Promise<void> {
    const networks = [...this.records.values()]
      .filter((r) => r.driver === 'bridge')
      .map((r) => ({
        bridgeName: r.device,
        subnet: parseCidr(r.subnet),
        ...(r.subnet6 === undefined ? {} : { subnet6: parseCidr6(r.subnet6) }),
        internal: r.internal,
      }));
    await applyNft(
      networkRulesTransaction({
        table: this.opts.nftTable,
        defaultBridge: this.opts.defaultBridge,
        networks,
      }),
    );
  }

  private lookup(networkId: string, clientIp: string, name: string): string[] | undefined {
    const record = this.records.get(networkId);
    if (record === undefined) return undefined;
    const leases = Object.entries(record.leases);
    const client = leases.find(([, l]) => l.ipAddress === clientIp)?.[1];
    const target = client?.links.find((l) => l.alias.toLowerCase() === name)?.name.toLowerCase() ?? name;
    const found = leases
      .filter(
        ([id, l]) =>
          l.containerName.toLowerCase() === target ||
          l.aliases.some((a) => a.toLowerCase() === target) ||
          (target.length >= 12 && id.startsWith(target)),
      )
      .flatMap(([, l]) => (l.ipv6Address === undefined ? [l.ipAddress] : [l.ipAddress, l.ipv6Address]));
    return found.length > 0 ? found : undefined;
  }

  private hostResolvers: string[] = [];

  private upstreams(networkId: string, clientIp: string): string[] {
    const record = this.records.get(networkId);
    if (record === undefined || record.internal) return [];
    const client = Object.values(record.leases).find((l) => l.ipAddress === clientIp);
    if (client && client.dnsServers.length > 0) return client.dnsServers;
    return this.hostResolvers;
  }
}

/** An IPv6 address in the canonical text the records keep; InvalidArgumentError if it is none. */
function formatIpv6Text(text: string): string {
  return formatIpv6(parseIpv6(text));
}
