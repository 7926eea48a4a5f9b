// nftables rules of user-defined networks and published ports. Each set of chains is
// rewritten whole in one transaction (add, flush, add rules), so the rules always match
// the daemon's state and a crash between two changes is repaired by the next one.
import type { NftCommand, NftStatement } from '../../platform/index.js';
import { formatCidr, type Ipv4Cidr } from './ipam.js';
import { formatCidr6, type Ipv6Cidr } from './ipam6.js';

const FAMILY = 'inet';
// Priorities of the standard hooks, as nft's syntax names them: dstnat, srcnat, filter.
const DSTNAT_PRIORITY = -100;
const SRCNAT_PRIORITY = 100;
const FILTER_PRIORITY = 0;

export interface BridgeNetworkRules {
  bridgeName: string;
  subnet: Ipv4Cidr;
  /** Dual-stack networks' v6 subnet, masqueraded too (Docker's default for IPv6 NAT). */
  subnet6?: Ipv6Cidr;
  internal: boolean;
}

export interface PortRule {
  protocol: 'tcp' | 'udp';
  /** '' or 0.0.0.0 for every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

type ChainHook = {
  type: 'nat' | 'filter';
  hook: 'prerouting' | 'output' | 'postrouting' | 'forward';
  prio: number;
};

function interfaceIs(
  key: 'iifname' | 'oifname',
  op: '==' | '!=',
  name: string | { set: string[] },
): NftStatement {
  return { match: { op, left: { meta: { key } }, right: name } };
}

function sourceIn(subnet: Ipv4Cidr | Ipv6Cidr, protocol: 'ip' | 'ip6' = 'ip'): NftStatement {
  return {
    match: {
      op: '==',
      left: { payload: { protocol, field: 'saddr' } },
      right: { prefix: { addr: subnet.address, len: subnet.prefixLength } },
    },
  };
}

/** Chains made (no-op when present) and emptied, ready for their rules. */
function resetChains(table: string, chains: Record<string, ChainHook>): NftCommand[] {
  const commands: NftCommand[] = [{ add: { table: { family: FAMILY, name: table } } }];
  for (const [name, hook] of Object.entries(chains)) {
    // Policy accept: our table adds permissions and NAT; it must not drop the host's other traffic.
    commands.push({ add: { chain: { family: FAMILY, table, name, ...hook, policy: 'accept' } } });
    commands.push({ flush: { chain: { family: FAMILY, table, name } } });
  }
  return commands;
}

function rule(table: string, chain: string, comment: string, expr: NftStatement[]): NftCommand {
  return { add: { rule: { family: FAMILY, table, chain, comment, expr } } };
}

/**
 * NAT, forwarding and isolation of user-defined bridges: each may reach the outside
 * (unless internal) and itself, never another of our bridges (the default one included).
 */
export function networkRulesTransaction(opts: {
  table: string;
  defaultBridge: string;
  networks: readonly BridgeNetworkRules[];
}): NftCommand[] {
  const { table } = opts;
  const commands = resetChains(table, {
    'net-postrouting': { type: 'nat', hook: 'postrouting', prio: SRCNAT_PRIORITY },
    'net-forward': { type: 'filter', hook: 'forward', prio: FILTER_PRIORITY },
  });
  const allBridges = [opts.defaultBridge, ...opts.networks.map((n) => n.bridgeName)];
  for (const n of opts.networks) {
    const b = n.bridgeName;
    if (n.internal) {
      commands.push(
        rule(table, 'net-forward', `internal ${b}: nothing leaves`, [
          interfaceIs('iifname', '==', b),
          interfaceIs('oifname', '!=', b),
          { drop: null },
        ]),
        rule(table, 'net-forward', `internal ${b}: nothing enters`, [
          interfaceIs('oifname', '==', b),
          interfaceIs('iifname', '!=', b),
          { drop: null },
        ]),
      );
      continue;
    }
    commands.push(
      rule(table, 'net-postrouting', `masquerade ${formatCidr(n.subnet)} leaving ${b}`, [
        sourceIn(n.subnet),
        interfaceIs('oifname', '!=', b),
        { masquerade: null },
      ]),
      ...(n.subnet6 === undefined
        ? []
        : [
            rule(table, 'net-postrouting', `masquerade ${formatCidr6(n.subnet6)} leaving ${b}`, [
              sourceIn(n.subnet6, 'ip6'),
              interfaceIs('oifname', '!=', b),
              { masquerade: null },
            ]),
          ]),
      rule(table, 'net-forward', `isolate ${b}`, [
        interfaceIs('iifname', '==', b),
        interfaceIs('oifname', '!=', b),
        interfaceIs('oifname', '==', { set: allBridges }),
        { drop: null },
      ]),
      rule(table, 'net-forward', `from ${b}`, [interfaceIs('iifname', '==', b), { accept: null }]),
      rule(table, 'net-forward', `to ${b}`, [interfaceIs('oifname', '==', b), { accept: null }]),
    );
  }
  return commands;
}

function portMatch(p: PortRule): NftStatement[] {
  const destination: NftStatement =
    p.hostIp === '' || p.hostIp === '0.0.0.0'
      ? { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } }
      : { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: p.hostIp } };
  return [
    destination,
    { match: { op: '==', left: { payload: { protocol: p.protocol, field: 'dport' } }, right: p.hostPort } },
  ];
}

/**
 * Published ports: DNAT for traffic arriving from elsewhere (prerouting) and for the
 * host's own (output), and masquerade for what the host sends from 127.0.0.0/8, which the
 * container could not answer otherwise (the bridge also needs route_localnet).
 */
export function portRulesTransaction(opts: { table: string; ports: readonly PortRule[] }): NftCommand[] {
  const { table } = opts;
  const commands = resetChains(table, {
    'ports-prerouting': { type: 'nat', hook: 'prerouting', prio: DSTNAT_PRIORITY },
    'ports-output': { type: 'nat', hook: 'output', prio: DSTNAT_PRIORITY },
    'ports-postrouting': { type: 'nat', hook: 'postrouting', prio: SRCNAT_PRIORITY },
  });
  for (const p of opts.ports) {
    const target = { dnat: { family: 'ip', addr: p.containerIp, port: p.containerPort } };
    const comment = `${p.hostIp || '0.0.0.0'}:${p.hostPort}/${p.protocol} -> ${p.containerIp}:${p.containerPort}`;
    const ipv4: NftStatement = { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } };
    commands.push(
      rule(table, 'ports-prerouting', comment, [ipv4, ...portMatch(p), target]),
      rule(table, 'ports-output', comment, [ipv4, ...portMatch(p), target]),
    );
  }
  commands.push(
    rule(table, 'ports-postrouting', 'loopback clients of published ports', [
      sourceIn({ address: '127.0.0.0', prefixLength: 8 }),
      { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
      { masquerade: null },
    ]),
  );
  return commands;
}
