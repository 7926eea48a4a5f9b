// IPv4 address arithmetic for IPAM. Pure: no I/O, addresses as dotted strings at the edges
// and as unsigned 32-bit numbers inside.
import { InvalidArgumentError } from '../../api/index.js';

/** An address with its prefix length, as in `172.18.0.1/16`. */
export interface Ipv4Cidr {
  address: string;
  prefixLength: number;
}

/** The numeric form of a dotted IPv4 address; InvalidArgumentError if it is not one. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  // Leading zeros are refused: some parsers read them as octal, so they are ambiguous.
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    throw new InvalidArgumentError(`invalid IPv4 address: ${JSON.stringify(text)}`);
  }
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

export function parseCidr(text: string): Ipv4Cidr {
  const match = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(text);
  const prefixLength = Number(match?.[2]);
  if (!match?.[1] || prefixLength > 32) {
    throw new InvalidArgumentError(`invalid IPv4 CIDR: ${JSON.stringify(text)}`);
  }
  parseIpv4(match[1]);
  return { address: match[1], prefixLength };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${cidr.address}/${cidr.prefixLength}`;
}

function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** The subnet the address lies in, with host bits cleared: `172.18.0.1/16` -> `172.18.0.0/16`. */
export function subnetOf(cidr: Ipv4Cidr): Ipv4Cidr {
  const network = (parseIpv4(cidr.address) & maskOf(cidr.prefixLength)) >>> 0;
  return { address: formatIpv4(network), prefixLength: cidr.prefixLength };
}

export function broadcastOf(cidr: Ipv4Cidr): string {
  const network = parseIpv4(subnetOf(cidr).address);
  return formatIpv4((network | ~maskOf(cidr.prefixLength)) >>> 0);
}

export function subnetContains(subnet: Ipv4Cidr, address: string): boolean {
  const mask = maskOf(subnet.prefixLength);
  return (parseIpv4(address) & mask) >>> 0 === (parseIpv4(subnet.address) & mask) >>> 0;
}

/** Whether the address can be given to a host: inside the subnet, not its network or broadcast address. */
export function isHostAddress(subnet: Ipv4Cidr, address: string): boolean {
  if (!subnetContains(subnet, address)) return false;
  return address !== subnetOf(subnet).address && address !== broadcastOf(subnet);
}

/**
 * The first address of the subnet after `after` (wrapping around once) that is a host
 * address and not in `inUse`, or undefined when all are taken. Like Docker's allocator,
 * it moves on from the last address given out instead of starting from the bottom, so a
 * just-released address is not handed straight to the next container.
 */
export function nextFreeAddress(
  subnet: Ipv4Cidr,
  inUse: ReadonlySet<string>,
  after?: string,
): string | undefined {
  const network = parseIpv4(subnetOf(subnet).address);
  const hostCount = 2 ** (32 - subnet.prefixLength) - 2;
  if (hostCount < 1) return undefined;
  const first = network + 1;
  // Offset (from `first`) of the address to try first.
  let start = 0;
  if (after !== undefined && isHostAddress(subnet, after)) start = (parseIpv4(after) - first + 1) % hostCount;
  for (let i = 0; i < hostCount; i++) {
    const candidate = formatIpv4(first + ((start + i) % hostCount));
    if (!inUse.has(candidate)) return candidate;
  }
  return undefined;
}

/** Docker's MAC for an IPv4 endpoint: 02:42 (locally administered) followed by the address's four bytes. */
export function macFromIpv4(address: string): string {
  const value = parseIpv4(address);
  const bytes = [0x02, 0x42, ...[24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Whether two subnets share any address. */
export function subnetsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return subnetContains(a, subnetOf(b).address) || subnetContains(b, subnetOf(a).address);
}

/** Parses `10.1.0.0/16` as a subnet: the address must be the subnet's first (Docker's rule). */
export function parseSubnet(text: string): Ipv4Cidr {
  const cidr = parseCidr(text);
  if (subnetOf(cidr).address !== cidr.address) {
    throw new InvalidArgumentError(`invalid subnet ${text}: it should be ${formatCidr(subnetOf(cidr))}`);
  }
  return cidr;
}

/**
 * The first subnet of `size` bits inside `base` that overlaps none of `taken`, or
 * undefined when the pool is exhausted.
 */
export function firstFreeSubnet(
  base: Ipv4Cidr,
  size: number,
  taken: readonly Ipv4Cidr[],
): Ipv4Cidr | undefined {
  if (size < base.prefixLength || size > 30) return undefined;
  const start = parseIpv4(subnetOf(base).address);
  const count = 2 ** (size - base.prefixLength);
  const step = 2 ** (32 - size);
  for (let i = 0; i < count; i++) {
    const candidate = { address: formatIpv4(start + i * step), prefixLength: size };
    if (!taken.some((t) => subnetsOverlap(t, candidate))) return candidate;
  }
  return undefined;
}

/** The first host address of a subnet: Docker's default gateway. */
export function firstHostAddress(subnet: Ipv4Cidr): string {
  return formatIpv4(parseIpv4(subnetOf(subnet).address) + 1);
}
