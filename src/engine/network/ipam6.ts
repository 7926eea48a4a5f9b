// IPv6 address arithmetic for IPAM. Pure: no I/O, addresses as text at the edges and as
// 128-bit bigints inside. Text out is RFC 5952's canonical form, as Go's net.IP prints it,
// so inspect shows what docker would.
import { isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../../api/index.js';

/** An IPv6 address with its prefix length, as in `fd00:beef::1/64`. */
export interface Ipv6Cidr {
  address: string;
  prefixLength: number;
}

const BITS = 128n;
const ALL_ONES = (1n << BITS) - 1n;

/** The numeric form of an IPv6 address; InvalidArgumentError if it is not one. */
export function parseIpv6(text: string): bigint {
  // Zones (`%eth0`) and embedded IPv4 tails have no place in a network's subnet.
  if (!isIPv6(text) || text.includes('%') || text.includes('.')) {
    throw new InvalidArgumentError(`invalid IPv6 address: ${JSON.stringify(text)}`);
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups =
    tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function isIpv6Text(text: string): boolean {
  return text.includes(':');
}

export function parseCidr6(text: string): Ipv6Cidr {
  const match = /^([^/]+)\/([0-9]{1,3})$/.exec(text);
  const prefixLength = Number(match?.[2]);
  if (!match?.[1] || prefixLength > 128) {
    throw new InvalidArgumentError(`invalid IPv6 CIDR: ${JSON.stringify(text)}`);
  }
  return { address: formatIpv6(parseIpv6(match[1])), prefixLength };
}

export function formatCidr6(cidr: Ipv6Cidr): string {
  return `${cidr.address}/${cidr.prefixLength}`;
}

function maskOf(prefixLength: number): bigint {
  return (ALL_ONES << (BITS - BigInt(prefixLength))) & ALL_ONES;
}

export function subnetOf6(cidr: Ipv6Cidr): Ipv6Cidr {
  return {
    address: formatIpv6(parseIpv6(cidr.address) & maskOf(cidr.prefixLength)),
    prefixLength: cidr.prefixLength,
  };
}

export function subnetContains6(subnet: Ipv6Cidr, address: string): boolean {
  const mask = maskOf(subnet.prefixLength);
  return (parseIpv6(address) & mask) === (parseIpv6(subnet.address) & mask);
}

export function subnetsOverlap6(a: Ipv6Cidr, b: Ipv6Cidr): boolean {
  return subnetContains6(a, subnetOf6(b).address) || subnetContains6(b, subnetOf6(a).address);
}

/**
 * Parses a v6 subnet: the address must be the subnet's first (Docker's rule), and at most
 * a /127 so there is room for a gateway and one container.
 */
export function parseSubnet6(text: string): Ipv6Cidr {
  const cidr = parseCidr6(text);
  if (subnetOf6(cidr).address !== cidr.address) {
    throw new InvalidArgumentError(`invalid subnet ${text}: it should be ${formatCidr6(subnetOf6(cidr))}`);
  }
  if (cidr.prefixLength > 126) throw new InvalidArgumentError(`subnet ${text} is too small`);
  return cidr;
}

/** Whether the address may be given to an endpoint: in the subnet and not its all-zeros (subnet-router anycast) address. */
export function isHostAddress6(subnet: Ipv6Cidr, address: string): boolean {
  if (!subnetContains6(subnet, address)) return false;
  return parseIpv6(address) !== parseIpv6(subnetOf6(subnet).address);
}

/** The subnet's `::1`: Docker's default v6 gateway. */
export function firstHostAddress6(subnet: Ipv6Cidr): string {
  return formatIpv6(parseIpv6(subnetOf6(subnet).address) + 1n);
}

/**
 * The lowest address of the subnet above its gateway end that is not in `inUse`, or
 * undefined when the first `limit` candidates are all taken (a /64 never runs out in
 * practice; the limit keeps a full small subnet from looping for long).
 */
export function nextFreeAddress6(
  subnet: Ipv6Cidr,
  inUse: ReadonlySet<string>,
  limit = 65_536,
): string | undefined {
  const first = parseIpv6(subnetOf6(subnet).address) + 1n;
  const size = 1n << (BITS - BigInt(subnet.prefixLength));
  const count = size - 1n < BigInt(limit) ? Number(size - 1n) : limit;
  for (let i = 0; i < count; i++) {
    const candidate = formatIpv6(first + BigInt(i));
    if (!inUse.has(candidate)) return candidate;
  }
  return undefined;
}

/** The first /`size` inside `base` that overlaps none of `taken`; undefined when the first `limit` are taken. */
export function firstFreeSubnet6(
  base: Ipv6Cidr,
  size: number,
  taken: readonly Ipv6Cidr[],
  limit = 65_536,
): Ipv6Cidr | undefined {
  if (size < base.prefixLength || size > 126) return undefined;
  const start = parseIpv6(subnetOf6(base).address);
  const step = 1n << (BITS - BigInt(size));
  const total = 1n << BigInt(size - base.prefixLength);
  const count = total < BigInt(limit) ? Number(total) : limit;
  for (let i = 0; i < count; i++) {
    const candidate = { address: formatIpv6(start + BigInt(i) * step), prefixLength: size };
    if (!taken.some((t) => subnetsOverlap6(t, candidate))) return candidate;
  }
  return undefined;
}

/**
 * A unique local /48 (RFC 4193: fd00::/8 and a 40-bit global id) derived from `seed`, so
 * one daemon keeps handing out /64s from the same prefix and two daemons rarely share one.
 */
export function ulaPrefixOf(seed: Uint8Array): Ipv6Cidr {
  let globalId = 0n;
  for (let i = 0; i < 5; i++) globalId = (globalId << 8n) | BigInt(seed[i] ?? 0);
  return { address: formatIpv6((0xfdn << 120n) | (globalId << 80n)), prefixLength: 48 };
}
