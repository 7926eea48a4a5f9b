import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../api/index.js';

/** Linux capabilities by bit number (capability.h), as the OCI spec spells them. */
const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** Docker's default set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/**
 * The capabilities this process may hand on: runc cannot raise one outside its own
 * bounding set (on these hosts CAP_SYS_RESOURCE is missing), so `ALL` means these.
 */
export async function grantableCapabilities(): Promise<string[]> {
  const status = await readFile('/proc/self/status', 'utf8');
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (hex === undefined) return [...ALL_CAPABILITIES];
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `ALL` stays as it is. */
function normalize(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return upper;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(ALL_CAPABILITIES as readonly string[]).includes(full)) {
    throw new InvalidArgumentError(`unknown capability: "${name}"`);
  }
  return full;
}

/**
 * Docker's rule: privileged gets everything; `--cap-add ALL` gives everything but the
 * named drops; `--cap-drop ALL` keeps only the named adds; otherwise the defaults minus
 * drops plus adds.
 */
export async function effectiveCapabilities(opts: {
  privileged?: boolean | undefined;
  capAdd?: string[] | undefined;
  capDrop?: string[] | undefined;
}): Promise<string[]> {
  const adds = (opts.capAdd ?? []).map(normalize);
  const drops = (opts.capDrop ?? []).map(normalize);
  if (opts.privileged) return grantableCapabilities();
  if (adds.includes('ALL')) return (await grantableCapabilities()).filter((cap) => !drops.includes(cap));
  const result = new Set(drops.includes('ALL') ? [] : DEFAULT_CAPABILITIES);
  for (const cap of drops) result.delete(cap);
  for (const cap of adds) result.add(cap);
  return [...result];
}
