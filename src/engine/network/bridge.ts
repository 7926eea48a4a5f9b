// Kernel plumbing of the default bridge: the bridge device and one veth pair per container.
import { ConflictError, NotFoundError } from '../../api/index.js';
import {
  addNetns,
  deleteLink,
  deleteNetns,
  IpBatch,
  listAddresses,
  listNetns,
} from '../../platform/index.js';
import { formatCidr, type Ipv4Cidr, subnetContains, subnetOf } from './ipam.js';

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

/** Makes the namespace and wires it to the bridge; a leftover namespace of the same name is replaced. */
export async function plumbEndpoint(p: EndpointPlumbing): Promise<string> {
  let path: string;
  try {
    path = await addNetns(p.netns);
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    await unplumbEndpoint(p.netns, p.hostVeth);
    path = await addNetns(p.netns);
  }
  await new IpBatch()
    .addVeth(p.hostVeth, { name: CONTAINER_INTERFACE, netns: p.netns, mac: p.macAddress })
    .setMaster(p.hostVeth, p.bridgeName)
    .setUp(p.hostVeth)
    .apply();
  await new IpBatch()
    .setUp('lo')
    .addAddress(CONTAINER_INTERFACE, formatCidr(p.address))
    .setUp(CONTAINER_INTERFACE)
    .addDefaultRoute(p.gateway, CONTAINER_INTERFACE)
    .apply({ netns: p.netns });
  return path;
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
  if (hostVeth !== undefined) await ignoreNotFound(deleteLink(hostVeth));
  await ignoreNotFound(deleteNetns(netns));
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
  if (p.defaultGateway !== undefined) batch.addDefaultRoute(p.defaultGateway, p.ifname);
  await batch.apply({ netns: p.netns });
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
