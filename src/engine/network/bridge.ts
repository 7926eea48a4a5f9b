// Kernel plumbing of the default bridge: the bridge device and one veth pair per container.
import { access } from 'node:fs/promises';
import { ConflictError, NotFoundError } from '../../api/index.js';
import {
  addNetns,
  deleteLink,
  deleteNetns,
  enableIpv6On,
  IpBatch,
  listAddresses,
  listNetns,
  netnsPath,
} from '../../platform/index.js';
import { formatCidr, type Ipv4Cidr, subnetContains, subnetOf } from './ipam.js';
import { formatCidr6, type Ipv6Cidr } from './ipam6.js';

/** The name of the interface a container sees, as in Docker. */
const CONTAINER_INTERFACE = 'eth0';

/**
 * Creates the bridge with its gateway address and brings it up, doing only what is
 * missing. ConflictError when another interface already has an address in the subnet.
 */
export async function ensureBridge(name: string, gateway: Ipv4Cidr): Promise<void> {
  const subnet = subnetOf(gateway);
  const links = await listAddresses();
  for (const link of links) {
    if (link.ifname === name) continue;
    for (const addr of link.addr_info) {
      if (addr.family !== 'inet') continue;
      const theirs = subnetOf({ address: addr.local, prefixLength: addr.prefixlen });
      if (subnetContains(theirs, subnet.address) || subnetContains(subnet, theirs.address)) {
        throw new ConflictError(
          `bridge subnet ${formatCidr(subnet)} overlaps ${addr.local}/${addr.prefixlen} on ${link.ifname}`,
        );
      }
    }
  }
  const ours = links.find((l) => l.ifname === name);
  const batch = new IpBatch();
  if (ours === undefined) batch.addBridge(name);
  const hasAddress = ours?.addr_info.some(
    (a) => a.family === 'inet' && a.local === gateway.address && a.prefixlen === gateway.prefixLength,
  );
  if (!hasAddress) batch.addAddress(name, formatCidr(gateway));
  if (!ours?.flags.includes('UP')) batch.setUp(name);
  await batch.apply();
}

export interface EndpointPlumbing {
  bridgeName: string;
  netns: string;
  hostVeth: string;
  macAddress: string;
  /** The container's address with the subnet's prefix length. */
  address: Ipv4Cidr;
  gateway: string;
}

/**
 * Makes the namespace and wires it to the bridge; a leftover namespace of the same name
 * is replaced. Two `ip` runs: one on the host (namespace, veth pair, bridge port), one
 * inside the namespace (address, route), since a batch acts in a single namespace.
 */
export async function plumbEndpoint(p: EndpointPlumbing): Promise<string> {
  const hostSide = () =>
    new IpBatch()
      .addNetns(p.netns)
      .addVeth(p.hostVeth, { name: CONTAINER_INTERFACE, netns: p.netns, mac: p.macAddress })
      .setMaster(p.hostVeth, p.bridgeName)
      .setUp(p.hostVeth)
      .apply();
  try {
    await hostSide();
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    // A crash left the namespace (or the veth) behind: the batch stopped at its first line
    // that failed; remove whatever exists and make it all again.
    await unplumbEndpoint(p.netns, p.hostVeth);
    await hostSide();
  }
  await new IpBatch()
    .setUp('lo')
    .addAddress(CONTAINER_INTERFACE, formatCidr(p.address))
    .setUp(CONTAINER_INTERFACE)
    .addDefaultRoute(p.gateway, CONTAINER_INTERFACE)
    .apply({ netns: p.netns });
  return netnsPath(p.netns);
}

async function ignoreNotFound(step: Promise<void>): Promise<void> {
  try {
    await step;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}

/**
 * Removes the veth pair and the namespace; parts already gone are fine. The veth goes
 * first because the kernel tears a namespace down asynchronously, and until then its
 * peer would keep the host end alive on the bridge.
 */
export async function unplumbEndpoint(netns: string, hostVeth: string | undefined): Promise<void> {
  // Nothing to remove is the usual case of a second release (remove after an exit): no process.
  if (hostVeth === undefined && !(await exists(netnsPath(netns)))) return;
  const batch = new IpBatch();
  if (hostVeth !== undefined) batch.deleteLink(hostVeth);
  try {
    await batch.deleteNetns(netns).apply();
    return;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  // Some part was gone already, and a batch stops at its first failure: the rest one by one.
  if (hostVeth !== undefined) await ignoreNotFound(deleteLink(hostVeth));
  await ignoreNotFound(deleteNetns(netns));
}

/** Host ends of veths whose namespace is gone, still being waited for (see releaseEndpoint). */
const vethRemovals = new Set<Promise<void>>();
/** How long the kernel gets to take a veth away with its namespace before we delete it. */
const VETH_LINGER_MS = 1000;
const VETH_POLL_MS = 50;

/**
 * Frees a container's endpoint on its way out: deletes the namespace, and the kernel
 * takes the veth pair with it. Deleting the veth ourselves first (unplumbEndpoint) costs
 * ~25 ms of the kernel's RCU waits on every container exit; here that happens only for a
 * host end still there after a while (its namespace held by a `container:` peer), in the
 * background, and settleEndpointRemovals() awaits it. Addresses are handed out round
 * robin, so a lingering end never meets its address again on a new container.
 */
export async function releaseEndpoint(netns: string, hostVeth: string | undefined): Promise<void> {
  if (!(await exists(netnsPath(netns)))) {
    if (hostVeth !== undefined) await ignoreNotFound(deleteLink(hostVeth));
    return;
  }
  await ignoreNotFound(deleteNetns(netns));
  if (hostVeth === undefined) return;
  const removal: Promise<void> = removeLingeringVeth(hostVeth)
    .catch((e: unknown) => process.emitWarning(`removing veth ${hostVeth}: ${String(e)}`))
    .finally(() => vethRemovals.delete(removal));
  vethRemovals.add(removal);
}

async function removeLingeringVeth(name: string): Promise<void> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`not an interface name: ${JSON.stringify(name)}`);
  const deadline = Date.now() + VETH_LINGER_MS;
  while (Date.now() < deadline) {
    if (!(await exists(`/sys/class/net/${name}`))) return;
    await new Promise((resolve) => setTimeout(resolve, VETH_POLL_MS));
  }
  await ignoreNotFound(deleteLink(name));
}

/** Resolves once every veth left behind by releaseEndpoint is gone. */
export async function settleEndpointRemovals(): Promise<void> {
  await Promise.all([...vethRemovals]);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Makes the container's namespace unless it exists; returns its name. */
export async function ensureNetns(netns: string): Promise<void> {
  if ((await listNetns()).includes(netns)) return;
  await addNetns(netns);
  await new IpBatch().setUp('lo').apply({ netns });
}

export interface InterfacePlumbing {
  netns: string;
  /** The name inside the container: eth0, eth1 ... */
  ifname: string;
  macAddress: string;
  address: Ipv4Cidr;
  /** Set on the container's first network, which carries its default route. */
  defaultGateway?: string;
  /** On dual-stack networks: the v6 address, and the v6 default route on the first network. */
  address6?: Ipv6Cidr;
  defaultGateway6?: string;
}

/** One more interface on a bridge for a namespace that exists already. */
export async function addBridgeInterface(
  p: InterfacePlumbing & { bridgeName: string; hostVeth: string },
): Promise<void> {
  await new IpBatch()
    .addVeth(p.hostVeth, { name: p.ifname, netns: p.netns, mac: p.macAddress })
    .setMaster(p.hostVeth, p.bridgeName)
    .setUp(p.hostVeth)
    .apply();
  await configureInterface(p);
}

/** A macvlan or ipvlan interface on the host's `parent`, inside the namespace. */
export async function addParentInterface(
  p: InterfacePlumbing & { parent: string; type: 'macvlan' | 'ipvlan' },
): Promise<void> {
  const mode = p.type === 'macvlan' ? 'bridge' : 'l2';
  await new IpBatch()
    .addSubInterface(p.ifname, { parent: p.parent, type: p.type, mode, netns: p.netns, mac: p.macAddress })
    .apply();
  await configureInterface(p);
}

async function configureInterface(p: InterfacePlumbing): Promise<void> {
  const batch = new IpBatch().addAddress(p.ifname, formatCidr(p.address)).setUp(p.ifname);
  if (p.address6 !== undefined) batch.addAddress(p.ifname, formatCidr6(p.address6), { noDad: true });
  if (p.defaultGateway !== undefined) batch.addDefaultRoute(p.defaultGateway, p.ifname);
  if (p.defaultGateway6 !== undefined) batch.addDefaultRoute(p.defaultGateway6, p.ifname);
  await batch.apply({ netns: p.netns });
}

/**
 * Gives a bridge its IPv6 gateway address, turning IPv6 on for it first (the host may
 * default to off). Only what is missing is done, so init repairs a bridge after a crash.
 */
export async function ensureBridgeIpv6(name: string, gateway: Ipv6Cidr): Promise<void> {
  await enableIpv6On(name);
  const [link] = (await listAddresses()).filter((l) => l.ifname === name);
  const hasAddress = link?.addr_info.some(
    (a) => a.family === 'inet6' && a.local === gateway.address && a.prefixlen === gateway.prefixLength,
  );
  if (!hasAddress) await new IpBatch().addAddress(name, formatCidr6(gateway), { noDad: true }).apply();
}

/** Removes one interface: the host end of a veth, or the link inside the namespace. */
export async function removeInterface(
  netns: string,
  ifname: string,
  hostVeth: string | undefined,
): Promise<void> {
  if (hostVeth !== undefined) await ignoreNotFound(deleteLink(hostVeth));
  else await ignoreNotFound(deleteLink(ifname, { netns }));
}

/** Deletes a bridge device if it is there. */
export async function removeBridge(name: string): Promise<void> {
  await ignoreNotFound(deleteLink(name));
}
