import { readFile, writeFile } from 'node:fs/promises';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../api/index.js';
import { CommandError, run } from './exec.js';

/** Where `ip netns add` mounts named namespaces (iproute2's NETNS_RUN_DIR; /var/run links here). */
export const NETNS_RUN_DIR = '/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_RUN_DIR}/${name}`;
}

/** One entry of `ip -json link`. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate?: string;
  address?: string;
  master?: string;
  link_type?: string;
}

export interface IpAddressInfo {
  family: string;
  local: string;
  prefixlen: number;
}

/** One entry of `ip -json addr`: a link with its addresses. */
export interface IpLinkAddresses extends IpLink {
  addr_info: IpAddressInfo[];
}

/** One entry of `ip -json route`. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
}

/** Which network namespace a command runs in; the daemon's own when absent. */
export interface IpScope {
  netns?: string;
}

/** Turns the failures of `ip` we can name into error kinds; the CommandError stays the cause. */
function classify(e: unknown): unknown {
  if (!(e instanceof CommandError)) return e;
  const text = e.stderr;
  if (/File exists/.test(text)) return new ConflictError(e.message, { cause: e });
  if (/Cannot find device|does not exist|No such file or directory/.test(text)) {
    return new NotFoundError(e.message, { cause: e });
  }
  return e;
}

async function runIp(args: readonly string[], input?: string): Promise<string> {
  try {
    const { stdout } = await run('ip', args, input === undefined ? {} : { input });
    return stdout;
  } catch (e) {
    throw classify(e);
  }
}

function scopeArgs(scope: IpScope): string[] {
  return scope.netns === undefined ? [] : ['-n', scope.netns];
}

async function readJson<T>(args: readonly string[], scope: IpScope): Promise<T[]> {
  const stdout = await runIp([...scopeArgs(scope), '-json', ...args]);
  // Some listings (netns with none, route in an empty table) print nothing at all.
  if (stdout.trim() === '') return [];
  return JSON.parse(stdout) as T[];
}

/** The link named `name`, or undefined when there is none. */
export async function showLink(name: string, scope: IpScope = {}): Promise<IpLink | undefined> {
  try {
    const [link] = await readJson<IpLink>(['link', 'show', 'dev', name], scope);
    return link;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

export function listAddresses(scope: IpScope = {}): Promise<IpLinkAddresses[]> {
  return readJson<IpLinkAddresses>(['addr', 'show'], scope);
}

export function listRoutes(scope: IpScope = {}): Promise<IpRoute[]> {
  return readJson<IpRoute>(['route', 'show'], scope);
}

/** The IPv6 routes (`ip -6 route`); listRoutes shows IPv4 only. */
export function listRoutes6(scope: IpScope = {}): Promise<IpRoute[]> {
  return readJson<IpRoute>(['-6', 'route', 'show'], scope);
}

/** Names of the namespaces under /run/netns. */
export async function listNetns(): Promise<string[]> {
  const entries = await readJson<{ name: string }>(['netns', 'list'], {});
  return entries.map((e) => e.name);
}

/** Creates /run/netns/NAME and returns that path; ConflictError if it exists. */
export async function addNetns(name: string): Promise<string> {
  checkWord(name);
  await runIp(['netns', 'add', name]);
  return netnsPath(name);
}

/** Unmounts and removes /run/netns/NAME; NotFoundError if it is not there. */
export async function deleteNetns(name: string): Promise<void> {
  checkWord(name);
  await runIp(['netns', 'del', name]);
}

/** Deletes a link (a veth takes its peer with it); NotFoundError if it is not there. */
export async function deleteLink(name: string, scope: IpScope = {}): Promise<void> {
  checkWord(name);
  await runIp([...scopeArgs(scope), 'link', 'del', 'dev', name]);
}

// `ip -batch` splits its lines on blanks and honours quotes, so every word we put in a
// line must be a plain token; otherwise a name could smuggle in a second command.
function checkWord(word: string): void {
  if (!/^[A-Za-z0-9_.:/@-]+$/.test(word)) {
    throw new InvalidArgumentError(`not a valid ip argument: ${JSON.stringify(word)}`);
  }
}

/**
 * Several `ip` writes sent as one `ip -batch -` run, in order, stopping at the first
 * failure. A batch runs in one namespace; build one per namespace.
 */
export class IpBatch {
  readonly #lines: string[][] = [];

  get isEmpty(): boolean {
    return this.#lines.length === 0;
  }

  #add(...words: string[]): this {
    for (const word of words) checkWord(word);
    this.#lines.push(words);
    return this;
  }

  /**
   * Makes /run/netns/NAME. `ip` returns to its own namespace afterwards, so the lines
   * that follow in the batch still act on the host.
   */
  addNetns(name: string): this {
    return this.#add('netns', 'add', name);
  }

  deleteNetns(name: string): this {
    return this.#add('netns', 'del', name);
  }

  addBridge(name: string): this {
    return this.#add('link', 'add', 'name', name, 'type', 'bridge');
  }

  /**
   * Makes a veth pair whose peer is born inside `peer.netns` under its final name, so
   * it never clashes with a host interface of the same name (the host's own eth0).
   */
  addVeth(name: string, peer: { name: string; netns: string; mac?: string }): this {
    const mac = peer.mac === undefined ? [] : ['address', peer.mac];
    return this.#add(
      'link',
      'add',
      'name',
      name,
      'type',
      'veth',
      'peer',
      'name',
      peer.name,
      ...mac,
      'netns',
      peer.netns,
    );
  }

  setMaster(dev: string, master: string): this {
    return this.#add('link', 'set', 'dev', dev, 'master', master);
  }

  setUp(dev: string): this {
    return this.#add('link', 'set', 'dev', dev, 'up');
  }

  /**
   * `noDad` skips IPv6 duplicate address detection: the address is ours alone (IPAM
   * says so) and would otherwise stay tentative, unusable, for a second or two.
   */
  addAddress(dev: string, cidr: string, opts: { noDad?: boolean } = {}): this {
    return this.#add('addr', 'add', cidr, 'dev', dev, ...(opts.noDad ? ['nodad'] : []));
  }

  addDefaultRoute(gateway: string, dev: string): this {
    return this.#add('route', 'add', 'default', 'via', gateway, 'dev', dev);
  }

  deleteLink(dev: string): this {
    return this.#add('link', 'del', 'dev', dev);
  }

  /**
   * A macvlan (bridge mode) or ipvlan (l2) link on `parent`, born inside `netns` under its
   * final name, like addVeth's peer; ipvlan links share the parent's MAC, so `mac` is macvlan's only.
   */
  addSubInterface(
    name: string,
    opts: { parent: string; type: 'macvlan' | 'ipvlan'; mode: string; netns: string; mac?: string },
  ): this {
    const mac = opts.mac === undefined || opts.type === 'ipvlan' ? [] : ['address', opts.mac];
    return this.#add(
      'link',
      'add',
      'link',
      opts.parent,
      'name',
      name,
      ...mac,
      'netns',
      opts.netns,
      'type',
      opts.type,
      'mode',
      opts.mode,
    );
  }

  /** The batch text, one command a line, as `ip -batch -` reads it. */
  toString(): string {
    return this.#lines.map((words) => `${words.join(' ')}\n`).join('');
  }

  async apply(scope: IpScope = {}): Promise<void> {
    if (this.isEmpty) return;
    await runIp([...scopeArgs(scope), '-batch', '-'], this.toString());
  }
}

const IPV4_FORWARD_SYSCTL = '/proc/sys/net/ipv4/ip_forward';

/** Lets the kernel route between interfaces, which NAT for a bridge needs; written only when off. */
export async function enableIpv4Forwarding(): Promise<void> {
  if ((await readFile(IPV4_FORWARD_SYSCTL, 'utf8')).trim() === '1') return;
  await writeFile(IPV4_FORWARD_SYSCTL, '1\n');
}

/** Lets a device carry 127.0.0.0/8 sources, so a published port answers on the host's loopback. */
export async function enableRouteLocalnet(dev: string): Promise<void> {
  checkWord(dev);
  const path = `/proc/sys/net/ipv4/conf/${dev}/route_localnet`;
  if ((await readFile(path, 'utf8')).trim() === '1') return;
  await writeFile(path, '1\n');
}

/** Turns IPv6 on for one device (the host may have it off by default); written only when off. */
export async function enableIpv6On(dev: string): Promise<void> {
  checkWord(dev);
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if ((await readFile(path, 'utf8')).trim() === '0') return;
  await writeFile(path, '0\n');
}

const IPV6_FORWARD_SYSCTL = '/proc/sys/net/ipv6/conf/all/forwarding';

/** Lets the kernel route IPv6 between interfaces, for dual-stack networks; written only when off. */
export async function enableIpv6Forwarding(): Promise<void> {
  if ((await readFile(IPV6_FORWARD_SYSCTL, 'utf8')).trim() === '1') return;
  await writeFile(IPV6_FORWARD_SYSCTL, '1\n');
}
