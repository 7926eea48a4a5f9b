import { BlockList, isIP } from 'node:net';
import type { Command } from 'commander';
import { NotFoundError } from '../api/index.js';
import type { IpamConfig, NetworkEndpointConfig, NetworkResource } from '../client/index.js';
import { confirm } from './confirm.js';
import type { CliContext } from './context.js';
import { describeError, StatusError, UsageError } from './errors.js';
import { shortId } from './format.js';
import { renderList, sortedKeys } from './list-format.js';
import { collect, parseFilters } from './options.js';
import { parseGoTemplate } from './template.js';

const NETWORK_HEADERS = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
};

/** Go's sortorder.NaturalLess, which docker sorts names with: `net2` before `net10`. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** `key=value` pairs (`--label`, `-o`) as a map; a bare key maps to ''. */
function keyValues(entries: string[] | undefined, flag: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid argument "${entry}" for "${flag}" flag: invalid key ''`);
    if (eq === -1) map[entry] = '';
    else map[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return map;
}

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseCidr(text: string, what: string): Cidr {
  const slash = text.indexOf('/');
  const address = text.slice(0, slash);
  const family = isIP(address);
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  const isValid =
    slash > 0 && family !== 0 && /^\d+$/.test(prefixText) && prefix <= (family === 4 ? 32 : 128);
  if (!isValid) throw new UsageError(`${what}invalid CIDR address: ${text}`);
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Go's `subnetMatches`: whether an address (or a CIDR's address) lies in the subnet. */
function subnetContains(subnet: string, data: string): boolean {
  const s = parseCidr(subnet, 'invalid subnet: ');
  const address = data.includes('/') ? parseCidr(data, '').address : data;
  const family = isIP(address);
  if (family === 0) throw new UsageError(`invalid IP address: ${data}`);
  if ((family === 4) !== (s.family === 'ipv4')) return false;
  const block = new BlockList();
  block.addSubnet(s.address, s.prefix, s.family);
  return block.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * docker's consolidation of `--subnet`, `--ip-range`, `--gateway` and `--aux-address`
 * into one IPAM config per subnet, with its errors, before the daemon is asked.
 */
export function ipamConfigOf(opts: {
  subnets: string[];
  ipRanges: string[];
  gateways: string[];
  auxAddresses: Record<string, string>;
}): IpamConfig[] {
  if (opts.subnets.length < opts.ipRanges.length || opts.subnets.length < opts.gateways.length) {
    throw new UsageError('every ip-range or gateway must have a corresponding subnet');
  }
  const configs = new Map<string, IpamConfig>();
  for (const subnet of opts.subnets) {
    parseCidr(subnet, 'invalid subnet: ');
    for (const other of configs.keys()) {
      if (subnetContains(subnet, other) || subnetContains(other, subnet))
        throw new UsageError('multiple overlapping subnet configuration is not supported');
    }
    configs.set(subnet, { Subnet: subnet, AuxiliaryAddresses: {} });
  }
  const assign = (
    value: string,
    field: 'IPRange' | 'Gateway',
    describe: (old: string, s: string) => string,
  ) => {
    let isMatched = false;
    for (const [subnet, config] of configs) {
      if (!subnetContains(subnet, value)) continue;
      const old = config[field];
      if (old !== undefined) throw new UsageError(describe(old, subnet));
      config[field] = value;
      isMatched = true;
    }
    return isMatched;
  };
  for (const range of opts.ipRanges) {
    parseCidr(range, '');
    const isMatched = assign(
      range,
      'IPRange',
      (old, s) => `cannot configure multiple ranges (${range}, ${old}) on the same subnet (${s})`,
    );
    if (!isMatched) throw new UsageError(`no matching subnet for range ${range}`);
  }
  for (const gateway of opts.gateways) {
    const isMatched = assign(
      gateway,
      'Gateway',
      (old, s) => `cannot configure multiple gateways (${gateway}, ${old}) for the same subnet (${s})`,
    );
    if (!isMatched) throw new UsageError(`no matching subnet for gateway ${gateway}`);
  }
  for (const [name, address] of Object.entries(opts.auxAddresses)) {
    const config = [...configs].find(([subnet]) => subnetContains(subnet, address))?.[1];
    if (!config) throw new UsageError(`no matching subnet for aux-address ${address}`);
    config.AuxiliaryAddresses = { ...config.AuxiliaryAddresses, [name]: address };
  }
  return [...configs.values()];
}

interface CreateFlags {
  driver: string;
  subnet?: string[];
  gateway?: string[];
  ipRange?: string[];
  auxAddress?: string[];
  ipamDriver: string;
  ipamOpt?: string[];
  internal?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  ipv6?: boolean;
  label?: string[];
  opt?: string[];
}

function defineCreate(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Create a network')
    .argument('<network>')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect)
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect)
    .option('--aux-address <map>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', collect)
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--ipam-opt <map>', 'Set IPAM driver specific options', collect)
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--ingress', 'Create swarm routing-mesh network')
    .option('--ipv6', 'Enable or disable IPv6 address assignment')
    .option('--label <list>', 'Set metadata on a network', collect)
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .action(async (name: string, flags: CreateFlags) => {
      const config = ipamConfigOf({
        subnets: flags.subnet ?? [],
        ipRanges: flags.ipRange ?? [],
        gateways: flags.gateway ?? [],
        auxAddresses: keyValues(flags.auxAddress, '--aux-address'),
      });
      const created = await ctx.client().networks.create({
        Name: name,
        Driver: flags.driver,
        Internal: !!flags.internal,
        Attachable: !!flags.attachable,
        Ingress: !!flags.ingress,
        ...(flags.ipv6 ? { EnableIPv6: true } : {}),
        IPAM: { Driver: flags.ipamDriver, Config: config, Options: keyValues(flags.ipamOpt, '--ipam-opt') },
        Options: keyValues(flags.opt, '--opt'),
        Labels: keyValues(flags.label, '--label'),
      });
      ctx.out(`${created.Id}\n`);
    });
}

/**
 * Go's `Time.String()` of an RFC 3339 time as the API sends it, which `network ls`
 * prints as is: `2026-11-23 19:02:42.046 +0000 UTC`.
 */
export function goTimeString(rfc3339: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!match) return rfc3339;
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  const offset =
    match[4] === 'Z' ? '+0000 UTC' : `${match[4]?.replace(':', '')} ${match[4]?.replace(':', '')}`;
  return `${match[1]} ${match[2]}${fraction ? `.${fraction}` : ''} ${offset}`;
}

function labelsText(labels: Record<string, string> | null): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function networkRow(n: NetworkResource, trunc: boolean) {
  const labels = n.Labels ?? {};
  const row = sortedKeys({
    CreatedAt: goTimeString(n.Created),
    Driver: n.Driver,
    ID: trunc ? shortId(n.Id) : n.Id,
    IPv4: String(n.EnableIPv4 !== false),
    IPv6: String(n.EnableIPv6),
    Internal: String(n.Internal),
    Labels: labelsText(labels),
    Name: n.Name,
    Scope: n.Scope,
  });
  return { ...row, Label: (key: unknown) => labels[String(key)] ?? '' };
}

function defineLs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List networks')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'driver=bridge')", collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action(async (flags: { filter?: string[]; format?: string; trunc: boolean; quiet?: boolean }) => {
      const networks = await ctx.client().networks.list({ filters: parseFilters(flags.filter) });
      const rows = networks
        .sort((a, b) => naturalCompare(a.Name, b.Name))
        .map((n) => networkRow(n, flags.trunc));
      const format = flags.quiet ? '{{.ID}}' : (flags.format ?? '');
      ctx.out(
        renderList(rows, {
          format,
          defaultFormat: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
          headers: NETWORK_HEADERS,
        }),
      );
    });
}

function defineInspect(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Display detailed information on one or more networks')
    .argument('<network...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(async (refs: string[], flags: { format?: string; verbose?: boolean }) => {
      const template = flags.format ? parseGoTemplate(flags.format) : undefined;
      const found: NetworkResource[] = [];
      const failures: string[] = [];
      for (const ref of refs) {
        try {
          found.push(await ctx.client().networks.inspect(ref, { verbose: !!flags.verbose }));
        } catch (e) {
          failures.push(describeError(e));
        }
      }
      if (template) for (const n of found) ctx.out(`${template.execute(n)}\n`);
      else ctx.out(`${JSON.stringify(found, null, 4)}\n`);
      if (failures.length > 0) throw new StatusError(1, failures.join('\n'));
    });
}

function defineRm(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove one or more networks')
    .argument('<network...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (refs: string[], flags: { force?: boolean }) => {
      let status = 0;
      for (const ref of refs) {
        try {
          await ctx.client().networks.remove(ref);
          ctx.out(`${ref}\n`);
        } catch (e) {
          if (flags.force && e instanceof NotFoundError) continue;
          // Like docker, each failure is told as it happens and the others are still tried.
          ctx.err(`${describeError(e)}\n`);
          status = 1;
        }
      }
      if (status !== 0) throw new StatusError(status);
    });
}

function definePrune(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove all unused networks')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { filter?: string[]; force?: boolean }) => {
      const warning = 'WARNING! This will remove all custom networks not used by at least one container.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const report = await ctx.client().networks.prune({ filters: parseFilters(flags.filter) });
      const deleted = report.NetworksDeleted ?? [];
      if (deleted.length > 0) ctx.out(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
    });
}

interface ConnectFlags {
  alias?: string[];
  ip?: string;
  ip6?: string;
  link?: string[];
  linkLocalIp?: string[];
  driverOpt?: string[];
}

function endpointConfigOf(flags: ConnectFlags): NetworkEndpointConfig {
  const endpoint: NetworkEndpointConfig = {};
  const ipam: NonNullable<NetworkEndpointConfig['IPAMConfig']> = {};
  if (flags.ip !== undefined) ipam.IPv4Address = flags.ip;
  if (flags.ip6 !== undefined) ipam.IPv6Address = flags.ip6;
  if (flags.linkLocalIp?.length) ipam.LinkLocalIPs = flags.linkLocalIp;
  if (Object.keys(ipam).length > 0) endpoint.IPAMConfig = ipam;
  if (flags.alias?.length) endpoint.Aliases = flags.alias;
  if (flags.link?.length) endpoint.Links = flags.link;
  if (flags.driverOpt?.length) endpoint.DriverOpts = keyValues(flags.driverOpt, '--driver-opt');
  return endpoint;
}

function defineConnect(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Connect a container to a network')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect)
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--link <list>', 'Add link to another container', collect)
    .option('--link-local-ip <strings>', 'Add a link-local address for the container', collect)
    .option('--driver-opt <strings>', 'driver options for the network', collect)
    .action(async (network: string, container: string, flags: ConnectFlags) => {
      await ctx.client().networks.connect(network, container, endpointConfigOf(flags));
    });
}

function defineDisconnect(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (network: string, container: string, flags: { force?: boolean }) => {
      await ctx.client().networks.disconnect(network, container, { force: !!flags.force });
    });
}

/** Go's net.JoinHostPort: an IPv6 host goes in brackets. */
function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `port CONTAINER [PRIVATE_PORT[/PROTO]]`: every published port as `80/tcp -> 0.0.0.0:8080`,
 * or only the host addresses of the one asked for.
 */
function definePort(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List port mappings or a specific mapping for the container')
    .argument('<container>')
    .argument('[private_port]')
    .action(async (container: string, privatePort: string | undefined) => {
      const inspect = await ctx.client().containers.inspect(container);
      const ports = inspect.NetworkSettings?.Ports ?? {};
      const lines: string[] = [];
      if (privatePort !== undefined) {
        const [port = '', proto = 'tcp'] = privatePort.split('/');
        const n = Number(port);
        if (!/^\d+$/.test(port) || n > 65535) {
          throw new UsageError(
            `Error: invalid port (${port}): strconv.ParseUint: parsing "${port}": invalid syntax`,
          );
        }
        const frontends = ports[`${port}/${proto || 'tcp'}`];
        if (!frontends)
          throw new UsageError(`Error: No public port '${privatePort}' published for ${container}`);
        for (const f of frontends) lines.push(joinHostPort(f.HostIp ?? '', f.HostPort ?? ''));
      } else {
        for (const [key, frontends] of Object.entries(ports)) {
          for (const f of frontends ?? [])
            lines.push(`${key} -> ${joinHostPort(f.HostIp ?? '', f.HostPort ?? '')}`);
        }
        lines.sort(naturalCompare);
      }
      ctx.out(lines.map((l) => `${l}\n`).join(''));
    });
}

/** `network create|ls|inspect|rm|prune|connect|disconnect` and `port` (also `container port`). */
export function registerNetworkCommands(program: Command, ctx: CliContext): void {
  const network = program.command('network').description('Manage networks');
  defineConnect(network.command('connect'), ctx);
  defineCreate(network.command('create'), ctx);
  defineDisconnect(network.command('disconnect'), ctx);
  defineInspect(network.command('inspect'), ctx);
  defineLs(network.command('ls').aliases(['list']), ctx);
  definePrune(network.command('prune'), ctx);
  defineRm(network.command('rm').aliases(['remove']), ctx);
  definePort(program.command('port'), ctx);
  const container = program.commands.find((c) => c.name() === 'container');
  if (container) definePort(container.command('port'), ctx);
}
