import type { EndpointSettings } from '../../api/index.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../../api/index.js';
import {
  applyNft,
  deleteLink,
  deleteNftTable,
  enableIpv4Forwarding,
  enableRouteLocalnet,
  listNetns,
  netnsPath,
  showLink,
} from '../../platform/index.js';
import {
  ensureBridge,
  plumbEndpoint,
  releaseEndpoint,
  settleEndpointRemovals,
  unplumbEndpoint,
} from './bridge.js';
import {
  formatCidr,
  type Ipv4Cidr,
  isHostAddress,
  macFromIpv4,
  nextFreeAddress,
  parseCidr,
  subnetOf,
} from './ipam.js';
import { bridgeNatTransaction } from './nat.js';
import { allocatePorts, mappingsOf, type PortMapping, portsSettings } from './ports.js';
import { portRulesTransaction } from './rules.js';
import { addresslessEndpoint, endpointSettings, networkSettings } from './settings.js';
import {
  type BridgeLease,
  loadPredefinedState,
  type PredefinedNetworksState,
  randomHexId,
  savePredefinedState,
} from './state.js';
import type {
  AttachRequest,
  NetworkAttachment,
  NetworkInfo,
  NetworkOptions,
  NetworkService,
} from './types.js';
import { BRIDGE_NAME_OPTION, DEFAULT_ADDRESS_POOLS, UserNetworks } from './user-networks.js';
import type { UserNetworkRecord } from './user-store.js';

const NFT_FAMILY = 'inet';
/** Linux's IFNAMSIZ less the terminating NUL. */
const MAX_INTERFACE_NAME = 15;

function checkOptions(opts: NetworkOptions): Ipv4Cidr {
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.bridgeName) || opts.bridgeName.length > MAX_INTERFACE_NAME) {
    throw new InvalidArgumentError(`invalid bridge name: ${JSON.stringify(opts.bridgeName)}`);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(opts.nftTable)) {
    throw new InvalidArgumentError(`invalid nftables table name: ${JSON.stringify(opts.nftTable)}`);
  }
  // Teardown deletes every namespace whose name starts with the prefix; an empty one would mean all.
  if (!/^[A-Za-z0-9_.-]{2,}$/.test(opts.netnsPrefix)) {
    throw new InvalidArgumentError(`invalid network namespace prefix: ${JSON.stringify(opts.netnsPrefix)}`);
  }
  const gateway = parseCidr(opts.bridgeCidr);
  if (!isHostAddress(gateway, gateway.address) || gateway.prefixLength > 30) {
    throw new InvalidArgumentError(`bridge address ${opts.bridgeCidr} leaves no addresses for containers`);
  }
  return gateway;
}

function checkContainerId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) {
    throw new InvalidArgumentError(`invalid container id: ${JSON.stringify(id)}`);
  }
}

function isHexId(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

/** A host veth name: `veth` and 7 random hex digits, 11 characters, within IFNAMSIZ. */
function randomVethName(): string {
  return `veth${randomHexId().slice(0, 7)}`;
}

/** Runs every step even when some fail, then reports all failures together. */
async function runAll(steps: Array<() => Promise<void>>, message: string): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, message);
}

/**
 * The none, host and default bridge modes. Leases of the default bridge live in
 * `opts.stateDir`; every lease change is persisted before the address is used.
 * Calls that change state run one at a time.
 */
export function createNetworkService(opts: NetworkOptions): NetworkService {
  const gateway = checkOptions(opts);
  const subnet = subnetOf(gateway);
  const nftTable = { family: NFT_FAMILY, name: opts.nftTable } as const;
  // The in-memory truth, changed synchronously; `persist` writes a snapshot of it. Only
  // tasks in the queue persist, so writes never overlap, and a change made by `adopt`
  // between two writes is carried by the next one instead of being overwritten.
  let networkIds: PredefinedNetworksState['networkIds'] | undefined;
  const leases = new Map<string, BridgeLease>();
  let lastAllocated: string | undefined;
  let isClosed = false;
  let queueTail: Promise<unknown> = Promise.resolve();

  function serially<T>(task: () => Promise<T>): Promise<T> {
    const result = queueTail.then(task);
    // The caller sees the failure through `result`; the queue only needs to move on.
    queueTail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  function initialisedIds(): PredefinedNetworksState['networkIds'] {
    if (isClosed) throw new UnavailableError('the network service is closed');
    if (networkIds === undefined) throw new UnavailableError('the network service is not initialised');
    return networkIds;
  }

  function persist(): Promise<void> {
    const bridge: PredefinedNetworksState['bridge'] = { leases: Object.fromEntries(leases) };
    if (lastAllocated !== undefined) bridge.lastAllocated = lastAllocated;
    return savePredefinedState(opts.stateDir, { version: 1, networkIds: initialisedIds(), bridge });
  }

  function netnsNameOf(containerId: string): string {
    return opts.netnsPrefix + containerId.slice(0, 12);
  }

  function bridgeAttachment(lease: BridgeLease): NetworkAttachment {
    const endpoint = endpointSettings({
      networkId: initialisedIds().bridge,
      endpointId: lease.endpointId,
      gateway: gateway.address,
      ipAddress: lease.ipAddress,
      prefixLength: gateway.prefixLength,
      macAddress: lease.macAddress,
    });
    const sandboxKey = netnsPath(lease.netns);
    return {
      mode: 'bridge',
      namespace: { path: sandboxKey },
      settings: networkSettings({ networkName: 'bridge', endpoint, sandboxId: lease.sandboxId, sandboxKey }),
      ipAddress: lease.ipAddress,
    };
  }

  function addresslessAttachment(mode: 'host' | 'none'): NetworkAttachment {
    return {
      mode,
      // none: runc gives the container a fresh namespace with only lo in it.
      namespace: mode === 'host' ? 'host' : undefined,
      settings: networkSettings({
        networkName: mode,
        endpoint: addresslessEndpoint(initialisedIds()[mode], randomHexId()),
        sandboxId: '',
        sandboxKey: '',
      }),
      ipAddress: '',
    };
  }

  async function isPlumbed(lease: BridgeLease): Promise<boolean> {
    if (lease.hostVeth === undefined || (await showLink(lease.hostVeth)) === undefined) return false;
    return (await listNetns()).includes(lease.netns);
  }

  /** Records a lease and persists it; on a failed write the lease is taken back. */
  async function putLease(containerId: string, lease: BridgeLease, allocated?: string): Promise<void> {
    const previous = { lease: leases.get(containerId), lastAllocated };
    leases.set(containerId, lease);
    if (allocated !== undefined) lastAllocated = allocated;
    try {
      await persist();
    } catch (e) {
      if (previous.lease === undefined) leases.delete(containerId);
      else leases.set(containerId, previous.lease);
      lastAllocated = previous.lastAllocated;
      throw e;
    }
  }

  async function leaseAddress(containerId: string): Promise<BridgeLease & { hostVeth: string }> {
    const netns = netnsNameOf(containerId);
    for (const [holder, lease] of leases) {
      if (lease.netns === netns) {
        throw new ConflictError(`container ${containerId} and ${holder} would share namespace ${netns}`);
      }
    }
    const inUse = new Set([gateway.address, ...[...leases.values()].map((l) => l.ipAddress)]);
    const ipAddress = nextFreeAddress(subnet, inUse, lastAllocated);
    if (ipAddress === undefined) throw new ConflictError('no available IPv4 addresses on network bridge');
    const lease = {
      ipAddress,
      macAddress: macFromIpv4(ipAddress),
      endpointId: randomHexId(),
      sandboxId: randomHexId(),
      netns,
      hostVeth: randomVethName(),
    };
    await putLease(containerId, lease, ipAddress);
    return lease;
  }

  async function dropLease(containerId: string): Promise<void> {
    const lease = leases.get(containerId);
    if (lease === undefined) return;
    leases.delete(containerId);
    try {
      await persist();
    } catch (e) {
      leases.set(containerId, lease);
      throw e;
    }
  }

  async function attachBridge(containerId: string): Promise<NetworkAttachment> {
    const existing = leases.get(containerId);
    if (existing !== undefined && (await isPlumbed(existing))) return bridgeAttachment(existing);
    // A lease without its plumbing is a crash mid-attach: finish it with the same address.
    let lease = existing ?? (await leaseAddress(containerId));
    let hostVeth = lease.hostVeth;
    if (hostVeth === undefined) {
      // An adopted lease does not know its veth; name a new one before creating it.
      hostVeth = randomVethName();
      lease = { ...lease, hostVeth };
      await putLease(containerId, lease);
    }
    try {
      await plumbLease(lease, hostVeth);
    } catch (e) {
      await undoAttach(containerId, lease.netns, hostVeth, e);
      throw e;
    }
    return bridgeAttachment(lease);
  }

  function plumbLease(lease: BridgeLease, hostVeth: string): Promise<string> {
    return plumbEndpoint({
      bridgeName: opts.bridgeName,
      netns: lease.netns,
      hostVeth,
      macAddress: lease.macAddress,
      address: { address: lease.ipAddress, prefixLength: gateway.prefixLength },
      gateway: gateway.address,
    });
  }

  async function undoAttach(containerId: string, netns: string, hostVeth: string, e: unknown): Promise<void> {
    const undo = [() => unplumbEndpoint(netns, hostVeth), () => dropLease(containerId)];
    await runAll(undo, 'undoing a failed attach').catch((undoError: unknown) => {
      throw new AggregateError(
        [e, undoError],
        `attaching ${containerId} to bridge failed and was not undone`,
      );
    });
  }

  /**
   * A new container's bridge endpoint with the queue held only for its lease: the kernel
   * plumbing, the slow part of a start, runs outside the queue so parallel starts overlap.
   * Nothing else touches the endpoint meanwhile: a container's start and release are
   * serialized by its owner, and the namespace and veth names are the lease's own.
   */
  async function leaseAndPlumb(containerId: string): Promise<BridgeLease> {
    const lease = await serially(() => leaseAddress(containerId));
    try {
      await plumbLease(lease, lease.hostVeth);
    } catch (e) {
      await serially(() => undoAttach(containerId, lease.netns, lease.hostVeth, e));
      throw e;
    }
    return lease;
  }

  async function releaseBridge(containerId: string): Promise<void> {
    const lease = leases.get(containerId);
    await releaseEndpoint(lease?.netns ?? netnsNameOf(containerId), lease?.hostVeth);
    await dropLease(containerId);
  }

  async function load(): Promise<void> {
    const saved = await loadPredefinedState(opts.stateDir);
    // Leases whose namespace is gone (a reboot empties /run) belong to no running container.
    const namespaces = new Set(await listNetns());
    networkIds = saved.networkIds;
    lastAllocated = saved.bridge.lastAllocated;
    leases.clear();
    for (const [containerId, lease] of Object.entries(saved.bridge.leases)) {
      if (namespaces.has(lease.netns)) leases.set(containerId, lease);
    }
    // Written at once so the network ids are stable from the first start.
    await persist();
  }

  async function teardown(): Promise<void> {
    const vethOf = new Map([...leases.values()].map((l) => [l.netns, l.hostVeth]));
    const ours = (await listNetns()).filter((name) => name.startsWith(opts.netnsPrefix));
    await runAll(
      [
        ...ours.map((name) => () => unplumbEndpoint(name, vethOf.get(name))),
        async () => {
          try {
            await deleteLink(opts.bridgeName);
          } catch (e) {
            if (!(e instanceof NotFoundError)) throw e;
          }
        },
        () => deleteNftTable(nftTable),
        async () => {
          if (networkIds === undefined) return;
          leases.clear();
          await persist();
        },
      ],
      `tearing down networking of bridge ${opts.bridgeName}`,
    );
  }

  const users = new UserNetworks({
    stateDir: opts.stateDir,
    nftTable: opts.nftTable,
    defaultBridge: opts.bridgeName,
    defaultSubnet: subnet,
    bridgePrefix: opts.bridgePrefix ?? 'br-',
    addressPools: opts.addressPools ?? DEFAULT_ADDRESS_POOLS,
  });
  users.netnsOf = netnsNameOf;
  /** Names of containers on the default bridge, for network inspect. */
  const bridgeNames = new Map<string, string>();
  /** Published ports by container, with the address they lead to. */
  const ports = new Map<string, { ipAddress: string; mappings: PortMapping[] }>();
  const initialised = new Date().toISOString();

  function applyPortRules(): Promise<void> {
    const rules = [...ports.values()].flatMap(({ ipAddress, mappings }) =>
      mappings.map((m) => ({ ...m, containerIp: ipAddress })),
    );
    return applyNft(portRulesTransaction({ table: opts.nftTable, ports: rules }));
  }

  function predefinedInfo(): NetworkInfo[] {
    const ids = initialisedIds();
    const bridgeContainers: NetworkInfo['containers'] = {};
    for (const [containerId, lease] of leases) {
      bridgeContainers[containerId] = {
        name: bridgeNames.get(containerId) ?? '',
        endpointId: lease.endpointId,
        macAddress: lease.macAddress,
        ipv4Address: `${lease.ipAddress}/${gateway.prefixLength}`,
        ipv6Address: '',
      };
    }
    const base = {
      created: initialised,
      internal: false,
      attachable: false,
      labels: {},
      isPredefined: true,
      enableIpv6: false,
    };
    return [
      {
        ...base,
        id: ids.bridge,
        name: 'bridge',
        driver: 'bridge',
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          [BRIDGE_NAME_OPTION]: opts.bridgeName,
        },
        ipam: [{ subnet: formatCidr(subnet), gateway: gateway.address }],
        containers: bridgeContainers,
      },
      { ...base, id: ids.host, name: 'host', driver: 'host', options: {}, ipam: [], containers: {} },
      { ...base, id: ids.none, name: 'none', driver: 'null', options: {}, ipam: [], containers: {} },
    ];
  }

  function userInfo(r: UserNetworkRecord): NetworkInfo {
    const containers: NetworkInfo['containers'] = {};
    const prefixLength = parseCidr(r.subnet).prefixLength;
    const prefixLength6 = r.subnet6 === undefined ? 0 : Number(r.subnet6.split('/')[1]);
    for (const [containerId, lease] of Object.entries(r.leases)) {
      containers[containerId] = {
        name: lease.containerName,
        endpointId: lease.endpointId,
        macAddress: lease.macAddress,
        ipv4Address: `${lease.ipAddress}/${prefixLength}`,
        ipv6Address: lease.ipv6Address === undefined ? '' : `${lease.ipv6Address}/${prefixLength6}`,
      };
    }
    return {
      id: r.id,
      name: r.name,
      driver: r.driver,
      created: r.created,
      internal: r.internal,
      attachable: r.attachable,
      labels: r.labels,
      options: r.options,
      ipam: [
        { subnet: r.subnet, gateway: r.gateway, ...(r.ipRange === undefined ? {} : { ipRange: r.ipRange }) },
        ...(r.subnet6 === undefined ? [] : [{ subnet: r.subnet6, gateway: r.gateway6 ?? '' }]),
      ],
      enableIpv6: r.subnet6 !== undefined,
      isPredefined: false,
      containers,
    };
  }

  function findNetwork(ref: string): { predefined: NetworkInfo } | { user: UserNetworkRecord } {
    const predefined = predefinedInfo();
    // The docker CLI names the default network `default` in EndpointsConfig.
    const name = ref === 'default' ? 'bridge' : ref;
    const exact = predefined.find((n) => n.name === name || n.id === name);
    if (exact) return { predefined: exact };
    const user = users.find(ref);
    if (user) return { user };
    const byPrefix = ref.length > 0 ? predefined.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length === 1 && byPrefix[0]) return { predefined: byPrefix[0] };
    throw new NotFoundError(`network ${ref} not found`);
  }

  function nextIfname(containerId: string, attachment: NetworkAttachment | undefined): string {
    const used = new Set(users.networksOf(containerId).map((r) => r.leases[containerId]?.ifname));
    if (attachment?.mode === 'bridge' || attachment?.mode === 'default' || leases.has(containerId))
      used.add('eth0');
    for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
  }

  async function attachUser(request: AttachRequest, record: UserNetworkRecord): Promise<NetworkAttachment> {
    const netns = netnsNameOf(request.containerId);
    const endpoint = await users.join(record, {
      containerId: request.containerId,
      containerName: request.containerName,
      netns,
      ifname: 'eth0',
      isPrimary: true,
      endpoint: endpointRequestFor(request, record),
      links: request.links ?? [],
      dnsServers: request.dnsServers ?? [],
    });
    const sandboxKey = netnsPath(netns);
    const attachment: NetworkAttachment = {
      mode: record.name,
      namespace: { path: sandboxKey },
      settings: networkSettings({ networkName: record.name, endpoint, sandboxId: randomHexId(), sandboxKey }),
      ipAddress: endpoint.IPAddress,
      hostGateway: gateway.address,
    };
    if (record.driver === 'bridge') attachment.dnsServer = record.gateway;
    return attachment;
  }

  function endpointRequestFor(request: AttachRequest, record: UserNetworkRecord) {
    const endpoints = request.endpoints ?? {};
    return endpoints[record.name] ?? endpoints[record.id] ?? {};
  }

  async function publish(request: AttachRequest, attachment: NetworkAttachment): Promise<void> {
    const exposed = request.exposedPorts ?? [];
    const bindings = request.portBindings ?? {};
    if (attachment.ipAddress === '') {
      attachment.settings.Ports = {};
      return;
    }
    const taken = new Set(
      [...ports.values()].flatMap((p) => p.mappings.map((m) => `${m.protocol}/${m.hostPort}`)),
    );
    const mappings = await allocatePorts({
      bindings,
      exposed,
      publishAll: request.publishAll === true,
      taken,
    });
    attachment.settings.Ports = portsSettings(mappings, [...exposed, ...Object.keys(bindings)]);
    if (mappings.length === 0) return;
    ports.set(request.containerId, { ipAddress: attachment.ipAddress, mappings });
    try {
      await applyPortRules();
    } catch (e) {
      ports.delete(request.containerId);
      throw e;
    }
  }

  async function releaseAll(containerId: string): Promise<void> {
    const steps: Array<() => Promise<void>> = [];
    if (ports.delete(containerId)) steps.push(() => applyPortRules());
    for (const record of users.networksOf(containerId)) steps.push(() => users.leave(record, containerId));
    steps.push(() => releaseBridge(containerId));
    await runAll(steps, `releasing the networks of ${containerId}`);
    bridgeNames.delete(containerId);
  }

  /** `plumbed`: the container's bridge lease, already plumbed by leaseAndPlumb. */
  async function attachAll(request: AttachRequest, plumbed?: BridgeLease): Promise<NetworkAttachment> {
    const { containerId } = request;
    const mode = request.mode === '' ? 'bridge' : request.mode;
    let attachment: NetworkAttachment;
    let primary: string;
    switch (mode) {
      case 'bridge':
      case 'default':
        attachment = plumbed ? bridgeAttachment(plumbed) : await attachBridge(containerId);
        attachment.hostGateway = gateway.address;
        bridgeNames.set(containerId, request.containerName);
        primary = 'bridge';
        break;
      case 'host':
      case 'none':
        return addresslessAttachment(mode);
      default: {
        const found = findNetwork(mode);
        if ('predefined' in found) return attachAll({ ...request, mode: found.predefined.name });
        attachment = await attachUser(request, found.user);
        primary = found.user.name;
      }
    }
    try {
      for (const [ref, endpoint] of Object.entries(request.endpoints ?? {})) {
        const found = findNetwork(ref);
        const name = 'predefined' in found ? found.predefined.name : found.user.name;
        if (name === primary || name === mode) continue;
        attachment = await connectOne(attachment, {
          containerId,
          containerName: request.containerName,
          network: ref,
          endpoint,
        });
      }
      await publish(request, attachment);
    } catch (e) {
      await releaseAll(containerId).catch(() => undefined);
      throw e;
    }
    return attachment;
  }

  async function connectOne(
    attachment: NetworkAttachment,
    request: Parameters<NetworkService['connect']>[1],
  ): Promise<NetworkAttachment> {
    const found = findNetwork(request.network);
    if ('predefined' in found) {
      throw new ForbiddenError(
        `container cannot be disconnected from host network or connected to host network`,
      );
    }
    if (typeof attachment.namespace !== 'object') {
      throw new ForbiddenError(
        'container sharing network namespace with another container or host cannot be connected to any other network',
      );
    }
    const record = found.user;
    const endpoint: EndpointSettings = await users.join(record, {
      containerId: request.containerId,
      containerName: request.containerName,
      netns: netnsNameOf(request.containerId),
      ifname: nextIfname(request.containerId, attachment),
      isPrimary: false,
      endpoint: request.endpoint,
      links: [],
      dnsServers: [],
    });
    const settings = {
      ...attachment.settings,
      Networks: { ...attachment.settings.Networks, [record.name]: endpoint },
    };
    const next: NetworkAttachment = { ...attachment, settings };
    if (next.dnsServer === undefined && record.driver === 'bridge') next.dnsServer = record.gateway;
    return next;
  }

  return {
    init: () =>
      serially(async () => {
        if (isClosed) throw new UnavailableError('the network service is closed');
        await load();
        await ensureBridge(opts.bridgeName, gateway);
        await enableIpv4Forwarding();
        await enableRouteLocalnet(opts.bridgeName);
        await applyNft(
          bridgeNatTransaction({ table: opts.nftTable, bridgeName: opts.bridgeName, bridgeCidr: gateway }),
        );
        await users.init();
        // Rules of containers that did not survive are dropped; adopt() brings back the others'.
        await applyPortRules();
      }),

    async attach(request) {
      checkContainerId(request.containerId);
      initialisedIds();
      const mode = request.mode === '' ? 'bridge' : request.mode;
      if ((mode === 'bridge' || mode === 'default') && !leases.has(request.containerId)) {
        const lease = await leaseAndPlumb(request.containerId);
        return serially(() => attachAll(request, lease));
      }
      return serially(() => attachAll(request));
    },

    async release(containerId) {
      checkContainerId(containerId);
      initialisedIds();
      await serially(() => releaseAll(containerId));
    },

    adopt(containerId, attachment) {
      checkContainerId(containerId);
      initialisedIds();
      const mappings = mappingsOf(attachment.settings.Ports ?? {});
      if (mappings.length > 0 && attachment.ipAddress !== '') {
        ports.set(containerId, { ipAddress: attachment.ipAddress, mappings });
        void serially(() => applyPortRules());
      }
      if (attachment.mode !== 'bridge') return;
      const endpoint = attachment.settings.Networks.bridge;
      if (endpoint === undefined || endpoint.IPAddress === '') {
        throw new InvalidArgumentError(`container ${containerId} has no address on network bridge to adopt`);
      }
      const name = endpoint.DNSNames?.[0];
      if (name !== undefined) bridgeNames.set(containerId, name);
      for (const [holder, lease] of leases) {
        if (lease.ipAddress !== endpoint.IPAddress) continue;
        if (holder === containerId) return;
        throw new ConflictError(`address ${endpoint.IPAddress} of ${containerId} is leased to ${holder}`);
      }
      // No lease on disk (the record was lost): take the container's word for it. From now on
      // no other container is given the address, and the next write persists the lease.
      leases.set(containerId, {
        ipAddress: endpoint.IPAddress,
        macAddress: endpoint.MacAddress,
        endpointId: isHexId(endpoint.EndpointID) ? endpoint.EndpointID : randomHexId(),
        sandboxId: isHexId(attachment.settings.SandboxID) ? attachment.settings.SandboxID : randomHexId(),
        netns: netnsNameOf(containerId),
      });
    },

    createNetwork: (request) =>
      serially(async () => {
        initialisedIds();
        const record = await users.create(request, new Set(['bridge', 'host', 'none', 'default']));
        return userInfo(record);
      }),

    listNetworks: () => [...predefinedInfo(), ...[...users.records.values()].map(userInfo)],

    inspectNetwork(ref) {
      const found = findNetwork(ref);
      return 'predefined' in found ? found.predefined : userInfo(found.user);
    },

    checkEndpoint(network, endpoint) {
      const found = findNetwork(network);
      if (!endpoint.ipv4Address && !endpoint.ipv6Address) return;
      if ('predefined' in found) {
        throw new InvalidArgumentError(
          'user specified IP address is supported on user defined networks only',
        );
      }
      if (endpoint.ipv4Address) users.chooseAddress(found.user, endpoint.ipv4Address);
      if (endpoint.ipv6Address) users.chooseAddress6(found.user, endpoint.ipv6Address);
    },

    removeNetwork: (ref) =>
      serially(async () => {
        const found = findNetwork(ref);
        if ('predefined' in found) {
          throw new ForbiddenError(`${found.predefined.name} is a pre-defined network and cannot be removed`);
        }
        await users.remove(found.user);
      }),

    connect: (attachment, request) =>
      serially(() => {
        checkContainerId(request.containerId);
        return connectOne(attachment, request);
      }),

    disconnect: (attachment, request) =>
      serially(async () => {
        const found = findNetwork(request.network);
        if ('predefined' in found) {
          throw new ForbiddenError(
            'container cannot be disconnected from host network or connected to host network',
          );
        }
        const record = found.user;
        if (record.leases[request.containerId] === undefined) {
          throw new ForbiddenError(
            `container ${request.containerId} is not connected to network ${record.name}`,
          );
        }
        await users.leave(record, request.containerId);
        const networks = { ...attachment.settings.Networks };
        delete networks[record.name];
        return { ...attachment, settings: { ...attachment.settings, Networks: networks } };
      }),

    close: (closeOpts = {}) =>
      serially(async () => {
        if (isClosed) return;
        await users.close({ teardown: closeOpts.teardown === true });
        await settleEndpointRemovals();
        if (closeOpts.teardown) await teardown();
        isClosed = true;
      }),
  };
}
