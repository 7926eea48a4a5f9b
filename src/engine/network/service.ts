import { ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../api/index.js';
import {
  applyNft,
  deleteLink,
  deleteNftTable,
  enableIpv4Forwarding,
  listNetns,
  netnsPath,
  showLink,
} from '../../platform/index.js';
import { ensureBridge, plumbEndpoint, unplumbEndpoint } from './bridge.js';
import { type Ipv4Cidr, isHostAddress, macFromIpv4, nextFreeAddress, parseCidr, subnetOf } from './ipam.js';
import { bridgeNatTransaction } from './nat.js';
import { addresslessEndpoint, endpointSettings, networkSettings } from './settings.js';
import {
  type BridgeLease,
  loadPredefinedState,
  type PredefinedNetworksState,
  randomHexId,
  savePredefinedState,
} from './state.js';
import type { NetworkAttachment, NetworkOptions, NetworkService } from './types.js';

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

  async function leaseAddress(containerId: string): Promise<BridgeLease> {
    const netns = netnsNameOf(containerId);
    for (const [holder, lease] of leases) {
      if (lease.netns === netns) {
        throw new ConflictError(`container ${containerId} and ${holder} would share namespace ${netns}`);
      }
    }
    const inUse = new Set([gateway.address, ...[...leases.values()].map((l) => l.ipAddress)]);
    const ipAddress = nextFreeAddress(subnet, inUse, lastAllocated);
    if (ipAddress === undefined) throw new ConflictError('no available IPv4 addresses on network bridge');
    const lease: BridgeLease = {
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
      await plumbEndpoint({
        bridgeName: opts.bridgeName,
        netns: lease.netns,
        hostVeth,
        macAddress: lease.macAddress,
        address: { address: lease.ipAddress, prefixLength: gateway.prefixLength },
        gateway: gateway.address,
      });
    } catch (e) {
      const undo = [() => unplumbEndpoint(lease.netns, hostVeth), () => dropLease(containerId)];
      await runAll(undo, 'undoing a failed attach').catch((undoError: unknown) => {
        throw new AggregateError(
          [e, undoError],
          `attaching ${containerId} to bridge failed and was not undone`,
        );
      });
      throw e;
    }
    return bridgeAttachment(lease);
  }

  async function releaseBridge(containerId: string): Promise<void> {
    const lease = leases.get(containerId);
    await unplumbEndpoint(lease?.netns ?? netnsNameOf(containerId), lease?.hostVeth);
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

  return {
    init: () =>
      serially(async () => {
        if (isClosed) throw new UnavailableError('the network service is closed');
        await load();
        await ensureBridge(opts.bridgeName, gateway);
        await enableIpv4Forwarding();
        await applyNft(
          bridgeNatTransaction({ table: opts.nftTable, bridgeName: opts.bridgeName, bridgeCidr: gateway }),
        );
      }),

    async attach(containerId, mode) {
      checkContainerId(containerId);
      initialisedIds();
      switch (mode) {
        case 'bridge':
        case 'default':
          return serially(() => attachBridge(containerId));
        case 'host':
        case 'none':
          return addresslessAttachment(mode);
        default:
          throw new InvalidArgumentError(`network ${mode} not found`);
      }
    },

    async release(containerId) {
      checkContainerId(containerId);
      initialisedIds();
      await serially(() => releaseBridge(containerId));
    },

    adopt(containerId, attachment) {
      checkContainerId(containerId);
      initialisedIds();
      if (attachment.mode !== 'bridge') return;
      const endpoint = attachment.settings.Networks.bridge;
      if (endpoint === undefined || endpoint.IPAddress === '') {
        throw new InvalidArgumentError(`container ${containerId} has no address on network bridge to adopt`);
      }
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

    close: (closeOpts = {}) =>
      serially(async () => {
        if (isClosed) return;
        if (closeOpts.teardown) await teardown();
        isClosed = true;
      }),
  };
}
