import type { NftCommand, NftStatement } from '../../platform/index.js';
import { formatCidr, type Ipv4Cidr, subnetOf } from './ipam.js';

export interface BridgeNatOptions {
  table: string;
  bridgeName: string;
  /** The bridge's address and prefix; the rules use its subnet. */
  bridgeCidr: Ipv4Cidr;
}

// Priorities of the standard hooks, as `srcnat` and `filter` name them in nft's syntax.
const SRCNAT_PRIORITY = 100;
const FILTER_PRIORITY = 0;

function interfaceIs(key: 'iifname' | 'oifname', op: '==' | '!=', name: string): NftStatement {
  return { match: { op, left: { meta: { key } }, right: name } };
}

/**
 * The transaction that makes our table hold exactly the default bridge's NAT and forward
 * rules. It is idempotent: chains are added (a no-op when present) and flushed before their
 * rules are added again, and only the chains this file owns are touched, so other chains
 * in the table (published ports, later) survive a daemon restart.
 */
export function bridgeNatTransaction(opts: BridgeNatOptions): NftCommand[] {
  const family = 'inet';
  const { table, bridgeName } = opts;
  const subnet = subnetOf(opts.bridgeCidr);
  const fromSubnet: NftStatement = {
    match: {
      op: '==',
      left: { payload: { protocol: 'ip', field: 'saddr' } },
      right: { prefix: { addr: subnet.address, len: subnet.prefixLength } },
    },
  };
  const chains = {
    postrouting: { type: 'nat', hook: 'postrouting', prio: SRCNAT_PRIORITY },
    forward: { type: 'filter', hook: 'forward', prio: FILTER_PRIORITY },
  } as const;
  const commands: NftCommand[] = [{ add: { table: { family, name: table } } }];
  for (const [name, hook] of Object.entries(chains)) {
    // Policy accept: our table adds permissions and NAT; it must not drop the host's other traffic.
    commands.push({ add: { chain: { family, table, name, ...hook, policy: 'accept' } } });
    commands.push({ flush: { chain: { family, table, name } } });
  }
  const rule = (chain: keyof typeof chains, comment: string, expr: NftStatement[]): NftCommand => ({
    add: { rule: { family, table, chain, comment, expr } },
  });
  commands.push(
    rule('postrouting', `masquerade ${formatCidr(subnet)} leaving ${bridgeName}`, [
      fromSubnet,
      interfaceIs('oifname', '!=', bridgeName),
      { masquerade: null },
    ]),
    rule('forward', `from ${bridgeName}`, [interfaceIs('iifname', '==', bridgeName), { accept: null }]),
    rule('forward', `to ${bridgeName}`, [interfaceIs('oifname', '==', bridgeName), { accept: null }]),
  );
  return commands;
}
