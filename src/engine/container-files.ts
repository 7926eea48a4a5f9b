import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostConfig } from '../api/index.js';
import { replaceFile } from '../store/index.js';

/** The files Docker bind-mounts into every container: /etc/hosts, /etc/hostname, /etc/resolv.conf. */
export interface ContainerEtcFiles {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
}

export function etcFilesOf(containerDir: string): ContainerEtcFiles {
  return {
    hostsPath: join(containerDir, 'hosts'),
    hostnamePath: join(containerDir, 'hostname'),
    resolvConfPath: join(containerDir, 'resolv.conf'),
  };
}

const HOSTS_PREAMBLE = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::\tip6-localnet',
  'ff00::\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export function renderHosts(
  hostname: string,
  ipAddress: string,
  extraHosts: readonly string[],
  hostGateway = '',
): string {
  const lines = [...HOSTS_PREAMBLE];
  for (const entry of extraHosts) {
    // `--add-host name:ip`; Docker also accepts `name=ip`, and `host-gateway` for the host's address.
    const match = /^([^:=]+)[:=](.+)$/.exec(entry);
    if (!match) continue;
    const address = match[2] === 'host-gateway' ? hostGateway : match[2];
    if (address) lines.push(`${address}\t${match[1]}`);
  }
  if (ipAddress) lines.push(`${ipAddress}\t${hostname}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Docker's rule: the host's resolv.conf without loopback nameservers (they mean
 * nothing inside another network namespace); an empty result falls back to none,
 * never to a fixed public resolver.
 */
export function renderResolvConf(hostResolvConf: string, hostConfig: HostConfig, dnsServer?: string): string {
  const kept = hostResolvConf
    .split('\n')
    .filter((line) => !/^\s*nameserver\s+(127\.|::1\b|localhost)/.test(line))
    // With an embedded DNS server it is the only nameserver; it forwards to the others itself.
    .filter((line) => !((hostConfig.Dns?.length || dnsServer) && /^\s*nameserver\s/.test(line)))
    .filter((line) => !(hostConfig.DnsSearch?.length && /^\s*(search|domain)\s/.test(line)))
    .filter((line) => !(hostConfig.DnsOptions?.length && /^\s*options\s/.test(line)));
  if (dnsServer) kept.push(`nameserver ${dnsServer}`);
  else for (const server of hostConfig.Dns ?? []) kept.push(`nameserver ${server}`);
  if (hostConfig.DnsSearch?.length) kept.push(`search ${hostConfig.DnsSearch.join(' ')}`);
  if (hostConfig.DnsOptions?.length) kept.push(`options ${hostConfig.DnsOptions.join(' ')}`);
  return `${kept.join('\n').trim()}\n`;
}

export async function writeEtcFiles(
  files: ContainerEtcFiles,
  opts: {
    hostname: string;
    ipAddress: string;
    hostConfig: HostConfig;
    hostNetwork: boolean;
    /** The embedded DNS server of the container's user-defined network. */
    dnsServer?: string;
    /** What `--add-host NAME:host-gateway` stands for. */
    hostGateway?: string;
  },
): Promise<void> {
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  // With the host's network the host's own files apply, as Docker does.
  const hosts = opts.hostNetwork
    ? await readFile('/etc/hosts', 'utf8').catch(() => renderHosts(opts.hostname, '', []))
    : renderHosts(opts.hostname, opts.ipAddress, opts.hostConfig.ExtraHosts ?? [], opts.hostGateway);
  // Rebuilt on every start: replaced whole for readers, but not flushed.
  await Promise.all([
    replaceFile(files.hostsPath, hosts),
    replaceFile(files.hostnamePath, `${opts.hostname}\n`),
    replaceFile(
      files.resolvConfPath,
      opts.hostNetwork ? hostResolv : renderResolvConf(hostResolv, opts.hostConfig, opts.dnsServer),
    ),
  ]);
}
