/**
 * The isolation part of a container's spec: shared or own namespaces, rlimits,
 * sysctls, /dev/shm size, devices, seccomp and no-new-privileges. Applied to a spec
 * buildSpec has made, so each concern stays in one place.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../api/index.js';
import { readFileInRoot } from './rootfs-path.js';
import { convertDockerProfile, defaultSeccompProfile } from './seccomp.js';
import type { OciSpec } from './types.js';

export type SharedNamespace = 'host' | { path: string };

export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** Some of `rwm`. */
  permissions: string;
}

export interface IsolationOptions {
  pidNamespace?: SharedNamespace;
  ipcNamespace?: SharedNamespace;
  utsNamespace?: 'host';
  rlimits?: { type: string; soft: number; hard: number }[];
  sysctl?: Record<string, string>;
  shmSizeBytes?: number;
  oomScoreAdj?: number;
  noNewPrivileges?: boolean;
  /** 'default' is berth's profile; a string is a profile in Docker's JSON format. */
  seccomp?: 'default' | 'unconfined' | { dockerProfileJson: string };
  devices?: DeviceMapping[];
  /** Extra groups for the process (`--group-add`): numbers, or names from the rootfs' /etc/group. */
  groupAdd?: string[];
}

interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

// Linux encodes device numbers with the major in bits 8-19 and 32-63, the minor in 0-7 and 20-31.
function majorOf(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function minorOf(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

async function deviceOf(pathOnHost: string, pathInContainer: string): Promise<OciDevice> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(pathOnHost);
  } catch (e) {
    throw new InvalidArgumentError(
      `error gathering device information while adding custom device "${pathOnHost}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  if (!info.isCharacterDevice() && !info.isBlockDevice()) {
    throw new InvalidArgumentError(
      `error gathering device information while adding custom device "${pathOnHost}": not a device node`,
    );
  }
  return {
    path: pathInContainer,
    type: info.isCharacterDevice() ? 'c' : 'b',
    major: majorOf(info.rdev),
    minor: minorOf(info.rdev),
    fileMode: info.mode & 0o7777,
    uid: info.uid,
    gid: info.gid,
  };
}

/** Every device node directly under the host's /dev, for `--privileged`. */
export async function hostDevices(): Promise<OciDevice[]> {
  const devices: OciDevice[] = [];
  for (const name of await readdir('/dev')) {
    const path = join('/dev', name);
    const info = await stat(path).catch(() => undefined);
    if (!info || !(info.isCharacterDevice() || info.isBlockDevice())) continue;
    // runc mounts its own /dev/console and ptmx.
    if (name === 'console' || name === 'ptmx' || name === 'tty') continue;
    devices.push(await deviceOf(path, path));
  }
  return devices;
}

async function resolveGroups(rootfs: string, groups: readonly string[]): Promise<number[]> {
  const groupFile = (await readFileInRoot(rootfs, '/etc/group')) ?? '';
  return groups.map((group) => {
    if (/^\d+$/.test(group)) return Number(group);
    const line = groupFile.split('\n').find((l) => l.split(':')[0] === group);
    const gid = line?.split(':')[2];
    if (gid === undefined || !/^\d+$/.test(gid)) {
      throw new InvalidArgumentError(`Unable to find group ${group}: no matching entries in group file`);
    }
    return Number(gid);
  });
}

function withNamespace(
  namespaces: Record<string, string>[],
  type: string,
  shared: SharedNamespace | undefined,
): Record<string, string>[] {
  if (shared === undefined) return namespaces;
  const others = namespaces.filter((ns) => ns.type !== type);
  return shared === 'host' ? others : [...others, { type, path: shared.path }];
}

/** Returns a new spec with the isolation options applied. */
export async function applyIsolation(
  spec: OciSpec,
  opts: IsolationOptions,
  privileged: boolean,
): Promise<OciSpec> {
  const linux = { ...(spec.linux as Record<string, unknown>) };
  const process = { ...(spec.process as Record<string, unknown>) };
  const result: OciSpec = { ...spec, linux, process };

  let namespaces = (linux.namespaces as Record<string, string>[]) ?? [];
  namespaces = withNamespace(namespaces, 'pid', opts.pidNamespace);
  namespaces = withNamespace(namespaces, 'ipc', opts.ipcNamespace);
  if (opts.utsNamespace === 'host') {
    namespaces = namespaces.filter((ns) => ns.type !== 'uts');
    // runc refuses a hostname without a UTS namespace of the container's own.
    delete result.hostname;
  }
  linux.namespaces = namespaces;

  if (opts.rlimits?.length) process.rlimits = opts.rlimits;
  if (opts.oomScoreAdj !== undefined) process.oomScoreAdj = opts.oomScoreAdj;
  if (opts.noNewPrivileges) process.noNewPrivileges = true;
  if (opts.groupAdd?.length) {
    const rootfs = (spec.root as { path: string }).path;
    const user = { ...(process.user as Record<string, unknown>) };
    const existing = (user.additionalGids as number[] | undefined) ?? [];
    user.additionalGids = [...new Set([...existing, ...(await resolveGroups(rootfs, opts.groupAdd))])];
    process.user = user;
  }
  if (opts.sysctl && Object.keys(opts.sysctl).length > 0) linux.sysctl = { ...opts.sysctl };

  if (opts.shmSizeBytes !== undefined && opts.shmSizeBytes > 0) {
    result.mounts = ((spec.mounts as Record<string, unknown>[]) ?? []).map((m) =>
      m.destination === '/dev/shm'
        ? {
            ...m,
            options: [
              ...((m.options as string[]) ?? []).filter((o) => !o.startsWith('size=')),
              `size=${opts.shmSizeBytes}`,
            ],
          }
        : m,
    );
  }

  const resources = { ...((linux.resources as Record<string, unknown>) ?? {}) };
  const devices = privileged ? await hostDevices() : [];
  for (const mapping of opts.devices ?? []) {
    if (!/^[rwm]{1,3}$/.test(mapping.permissions)) {
      throw new InvalidArgumentError(`invalid device mode: ${mapping.permissions}`);
    }
    const device = await deviceOf(mapping.pathOnHost, mapping.pathInContainer);
    devices.push(device);
    resources.devices = [
      ...((resources.devices as unknown[]) ?? []),
      {
        allow: true,
        type: device.type,
        major: device.major,
        minor: device.minor,
        access: mapping.permissions,
      },
    ];
  }
  if (devices.length > 0) linux.devices = devices;
  linux.resources = resources;

  const seccomp = opts.seccomp ?? 'default';
  if (!privileged && seccomp !== 'unconfined') {
    const caps = ((process.capabilities as { bounding?: string[] } | undefined)?.bounding ?? []) as string[];
    linux.seccomp =
      seccomp === 'default'
        ? defaultSeccompProfile(caps)
        : convertDockerProfile(seccomp.dockerProfileJson, caps);
  }
  return result;
}
