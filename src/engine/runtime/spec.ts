import { isAbsolute } from 'node:path';
import { effectiveCapabilities } from './capabilities.js';
import { applyIsolation } from './isolation.js';
import type { OciSpec, SpecMount, SpecOptions } from './types.js';
import { resolveUser } from './user.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What Docker hides from containers (moby oci/defaults.go), unless privileged. */
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

interface DeviceRule {
  allow: boolean;
  type?: 'a' | 'b' | 'c';
  major?: number;
  minor?: number;
  access: string;
}

const charDevice = (major: number, minor?: number): DeviceRule => ({
  allow: true,
  type: 'c',
  major,
  ...(minor === undefined ? {} : { minor }),
  access: 'rwm',
});

/**
 * Docker's device cgroup: deny all, allow mknod of anything (the device still has to
 * be in linux.devices to exist), and read/write of the nodes runc always creates plus ptys.
 */
const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  charDevice(1, 3), // null
  charDevice(1, 5), // zero
  charDevice(1, 7), // full
  charDevice(1, 8), // random
  charDevice(1, 9), // urandom
  charDevice(5, 0), // tty
  charDevice(5, 1), // console
  charDevice(5, 2), // ptmx
  charDevice(136), // pts/*
];

function defaultMounts(privileged: boolean): Record<string, unknown>[] {
  const sysOptions = ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: sysOptions },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'],
    },
  ];
}

// Docker's tmpfs defaults (`--tmpfs`, `--mount type=tmpfs`); the user's options follow and win.
const TMPFS_DEFAULT_OPTIONS = ['noexec', 'nosuid', 'nodev'];

function depthOf(destination: string): number {
  return destination.split('/').filter(Boolean).length;
}

/**
 * The caller's mounts, a later one replacing an earlier one at the same destination
 * (a user's `-v` over /etc/hosts), parents before children so none is hidden.
 */
function userMounts(mounts: readonly SpecMount[]): SpecMount[] {
  const byDestination = new Map<string, SpecMount>();
  for (const mount of mounts) {
    byDestination.delete(mount.destination);
    byDestination.set(mount.destination, mount);
  }
  return [...byDestination.values()].sort((a, b) => depthOf(a.destination) - depthOf(b.destination));
}

function ociMountOf(mount: SpecMount): Record<string, unknown> {
  const access = mount.readonly ? 'ro' : 'rw';
  if (mount.type === 'tmpfs') {
    return {
      destination: mount.destination,
      type: 'tmpfs',
      source: 'tmpfs',
      options: [...TMPFS_DEFAULT_OPTIONS, access, ...(mount.options ?? [])],
    };
  }
  return {
    destination: mount.destination,
    type: 'bind',
    source: mount.source,
    options: [
      mount.nonRecursive ? 'bind' : 'rbind',
      mount.propagation ?? 'rprivate',
      access,
      ...(mount.options ?? []),
    ],
  };
}

/** A shared or slave bind only propagates when the container's root does too (as Docker sets it). */
function optionalRootfsPropagation(mounts: readonly SpecMount[]): { rootfsPropagation?: string } {
  const modes = new Set(mounts.map((m) => m.propagation?.replace(/^r/, '')));
  if (modes.has('shared')) return { rootfsPropagation: 'rshared' };
  if (modes.has('slave')) return { rootfsPropagation: 'rslave' };
  return {};
}

/** Docker's order: PATH, HOSTNAME, TERM for a TTY, then the caller's, which replace same-named ones. */
function processEnv(opts: SpecOptions): string[] {
  const byName = new Map<string, string>();
  const put = (entry: string) => {
    const eq = entry.indexOf('=');
    byName.set(eq < 0 ? entry : entry.slice(0, eq), entry);
  };
  put(DEFAULT_PATH);
  put(`HOSTNAME=${opts.hostname}`);
  if (opts.terminal) put('TERM=xterm');
  for (const entry of opts.env) put(entry);
  return [...byName.values()];
}

function namespaces(network: SpecOptions['network']): Record<string, string>[] {
  const result: Record<string, string>[] = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  if (network === undefined) result.push({ type: 'network' });
  else if (network !== 'host') result.push({ type: 'network', path: network.path });
  return result;
}

/**
 * The OCI spec Docker would run for these options. Reads the rootfs' /etc/passwd and
 * /etc/group to resolve the user (InvalidArgumentError for unknown names or
 * capabilities). No seccomp profile yet: the default profile comes separately.
 */
export async function buildSpec(opts: SpecOptions): Promise<OciSpec> {
  if (opts.args.length === 0) throw new TypeError('buildSpec: args must not be empty');
  // The user is looked up in the rootfs from here, where a bundle-relative path means nothing.
  if (!isAbsolute(opts.rootfs)) throw new TypeError(`buildSpec: rootfs must be absolute: ${opts.rootfs}`);
  const privileged = opts.privileged ?? false;
  const [user, capabilities] = await Promise.all([
    resolveUser(opts.rootfs, opts.user),
    effectiveCapabilities({ privileged, capAdd: opts.capAdd, capDrop: opts.capDrop }),
  ]);
  const callerResources = opts.resources ?? {};
  const callerDevices = Array.isArray(callerResources.devices) ? callerResources.devices : [];
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: opts.terminal,
      user,
      args: opts.args,
      env: processEnv(opts),
      cwd: opts.cwd === '' ? '/' : opts.cwd,
      // Docker leaves inheritable and ambient empty so exec'd programs cannot regain dropped caps.
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      noNewPrivileges: false,
    },
    root: { path: opts.rootfs, readonly: opts.readonlyRootfs ?? false },
    hostname: opts.hostname,
    mounts: [...defaultMounts(privileged), ...userMounts(opts.mounts).map(ociMountOf)],
    linux: {
      ...optionalRootfsPropagation(opts.mounts),
      namespaces: namespaces(opts.network),
      cgroupsPath: opts.cgroupsPath,
      resources: {
        ...callerResources,
        devices: privileged ? [{ allow: true, access: 'rwm' }] : [...DEFAULT_DEVICE_RULES, ...callerDevices],
      },
      ...(privileged ? {} : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS }),
    },
  };
  return applyIsolation(spec, opts.isolation ?? {}, privileged);
}
