/**
 * HostConfig's isolation settings (namespace modes, security options, devices,
 * sysctls) as the runtime's IsolationOptions, with Docker's validation messages.
 */
import { stat } from 'node:fs/promises';
import type { HostConfig } from '../api/index.js';
import { ConflictError, InvalidArgumentError } from '../api/index.js';
import { rlimitsOf } from './host-config.js';
import type { DeviceMapping, IsolationOptions, SharedNamespace } from './runtime/index.js';

/** Finds a running container's pid for `container:NAME` modes; throws NotFound/Conflict. */
export type PidOfRunningContainer = (ref: string) => number;

type Mode = 'pid' | 'ipc' | 'uts';

function sharedNamespace(
  kind: Mode,
  value: unknown,
  pidOf: PidOfRunningContainer,
): SharedNamespace | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(`invalid ${kind} mode`);
  if (value === 'host') return 'host';
  if (value.startsWith('container:')) {
    if (kind === 'uts') throw new InvalidArgumentError(`invalid UTS mode: ${value}`);
    const pid = pidOf(value.slice('container:'.length));
    return { path: `/proc/${pid}/ns/${kind}` };
  }
  if (kind === 'ipc' && ['private', 'shareable', 'none'].includes(value)) return undefined;
  if (kind === 'pid' && value === 'private') return undefined;
  throw new InvalidArgumentError(`invalid ${kind === 'uts' ? 'UTS' : kind.toUpperCase()} mode: ${value}`);
}

/** Docker's `--security-opt` entries; unknown ones are refused as dockerd does. */
function securityOptions(options: readonly string[]): Pick<IsolationOptions, 'seccomp' | 'noNewPrivileges'> {
  const result: Pick<IsolationOptions, 'seccomp' | 'noNewPrivileges'> = {};
  for (const option of options) {
    const sep = option.search(/[=:]/);
    const key = sep === -1 ? option : option.slice(0, sep);
    const value = sep === -1 ? '' : option.slice(sep + 1);
    if (key === 'no-new-privileges') {
      if (value !== '' && value !== 'true' && value !== 'false') {
        throw new InvalidArgumentError(`invalid --security-opt 2: "${option}"`);
      }
      result.noNewPrivileges = value !== 'false';
    } else if (key === 'seccomp') {
      if (value === 'unconfined') result.seccomp = 'unconfined';
      else if (value === 'builtin' || value === '') result.seccomp = 'default';
      // The docker CLI reads the profile file and sends its JSON text in the option.
      else result.seccomp = { dockerProfileJson: value };
    } else if (key === 'apparmor' || key === 'label') {
      // No AppArmor or SELinux on berth's hosts: accepted and ignored, as dockerd does without them.
    } else {
      throw new InvalidArgumentError(`invalid --security-opt 1: "${option}"`);
    }
  }
  return result;
}

function devicesOf(hostConfig: HostConfig): DeviceMapping[] {
  const devices = hostConfig.Devices;
  if (devices === undefined || devices === null) return [];
  if (!Array.isArray(devices)) throw new InvalidArgumentError('invalid Devices: must be a list');
  return devices.map((d: unknown) => {
    const { PathOnHost, PathInContainer, CgroupPermissions } = (d ?? {}) as Record<string, unknown>;
    if (typeof PathOnHost !== 'string' || PathOnHost === '') {
      throw new InvalidArgumentError('invalid Devices: PathOnHost is required');
    }
    return {
      pathOnHost: PathOnHost,
      pathInContainer: typeof PathInContainer === 'string' && PathInContainer ? PathInContainer : PathOnHost,
      permissions: typeof CgroupPermissions === 'string' && CgroupPermissions ? CgroupPermissions : 'rwm',
    };
  });
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new InvalidArgumentError(`invalid ${name}: must be a list of strings`);
  }
  return value as string[];
}

/** Checks what can be checked at create; namespaces of other containers are resolved at start. */
export function validateIsolation(hostConfig: HostConfig, checkContainer: (ref: string) => void): void {
  isolationOf(hostConfig, (ref) => {
    checkContainer(ref);
    return 0;
  });
}

export function isolationOf(hostConfig: HostConfig, pidOf: PidOfRunningContainer): IsolationOptions {
  const isolation: IsolationOptions = {
    ...securityOptions(stringList(hostConfig.SecurityOpt, 'SecurityOpt')),
    rlimits: rlimitsOf(hostConfig),
    devices: devicesOf(hostConfig),
    groupAdd: stringList(hostConfig.GroupAdd, 'GroupAdd'),
  };
  const pid = sharedNamespace('pid', hostConfig.PidMode, pidOf);
  if (pid) isolation.pidNamespace = pid;
  const ipc = sharedNamespace('ipc', hostConfig.IpcMode, pidOf);
  if (ipc) isolation.ipcNamespace = ipc;
  if (sharedNamespace('uts', hostConfig.UTSMode, pidOf) === 'host') isolation.utsNamespace = 'host';
  const sysctls = hostConfig.Sysctls;
  if (sysctls !== undefined && sysctls !== null) {
    if (typeof sysctls !== 'object' || Object.values(sysctls).some((v) => typeof v !== 'string')) {
      throw new InvalidArgumentError('invalid Sysctls: must map names to strings');
    }
    isolation.sysctl = sysctls as Record<string, string>;
  }
  if (typeof hostConfig.ShmSize === 'number' && hostConfig.ShmSize > 0)
    isolation.shmSizeBytes = hostConfig.ShmSize;
  if (typeof hostConfig.OomScoreAdj === 'number' && hostConfig.OomScoreAdj !== 0) {
    if (hostConfig.OomScoreAdj < -1000 || hostConfig.OomScoreAdj > 1000) {
      throw new InvalidArgumentError(
        `Invalid value ${hostConfig.OomScoreAdj}, range for oom score adj is [-1000, 1000]`,
      );
    }
    isolation.oomScoreAdj = hostConfig.OomScoreAdj;
  }
  return isolation;
}

/** A container whose namespaces another joins (`--pid container:X`) must be running. */
export function requireRunning(status: string, ref: string, id: string): void {
  if (status !== 'running' && status !== 'paused') {
    throw new ConflictError(`cannot join namespaces of container ${ref}: container ${id} is not running`);
  }
}

/** `--device` paths must exist when the container is created, as dockerd checks. */
export async function checkDevicesExist(hostConfig: HostConfig): Promise<void> {
  for (const device of devicesOf(hostConfig)) {
    await stat(device.pathOnHost).catch(() => {
      throw new InvalidArgumentError(
        `error gathering device information while adding custom device "${device.pathOnHost}": no such file or directory`,
      );
    });
  }
}
