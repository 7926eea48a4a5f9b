/**
 * The resource, isolation and security flags of `run`/`create` (and the limits of
 * `update`), parsed as docker parses them into HostConfig fields.
 */
import type { Command } from 'commander';
import type { HealthConfig, HostConfig } from '../api/index.js';
import { parseGoDurationNs } from '../api/index.js';
import { UsageError } from './errors.js';
import { collect, parseInteger } from './options.js';

export interface ResourceFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  oomKillDisable?: boolean;
  oomScoreAdj?: string;
  cpus?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  ulimit?: string[];
  shmSize?: string;
  sysctl?: string[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  readOnly?: boolean;
  device?: string[];
  groupAdd?: string[];
  pid?: string;
  ipc?: string;
  uts?: string;
  init?: boolean;
  stopSignal?: string;
  stopTimeout?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthcheck?: boolean;
}

/** Go's time.ParseDuration (`1m30s`, `500ms`, `2h`) in nanoseconds. */
export function parseDurationNs(value: string): number {
  const ns = parseGoDurationNs(value);
  if (ns === undefined)
    throw new UsageError(`invalid argument "${value}": time: invalid duration "${value}"`);
  return ns;
}

/** `--health-*` flags as Config.Healthcheck; undefined when none is given. */
export function healthcheckOf(flags: ResourceFlags): HealthConfig | undefined {
  if (flags.healthcheck === false) {
    if (flags.healthCmd !== undefined)
      throw new UsageError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  const given = [
    flags.healthCmd,
    flags.healthInterval,
    flags.healthTimeout,
    flags.healthRetries,
    flags.healthStartPeriod,
  ];
  if (given.every((v) => v === undefined)) return undefined;
  const health: HealthConfig = { Test: flags.healthCmd !== undefined ? ['CMD-SHELL', flags.healthCmd] : [] };
  if (flags.healthInterval !== undefined) health.Interval = parseDurationNs(flags.healthInterval);
  if (flags.healthTimeout !== undefined) health.Timeout = parseDurationNs(flags.healthTimeout);
  if (flags.healthStartPeriod !== undefined) health.StartPeriod = parseDurationNs(flags.healthStartPeriod);
  if (flags.healthRetries !== undefined) health.Retries = parseInteger(flags.healthRetries);
  return health;
}

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** go-units RAMInBytes: `32m`, `1.5g`, `512k`, `100` (bytes); binary multiples. */
export function parseBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgtp])?b?$/i.exec(value.trim());
  if (!match) throw new UsageError(`invalid size: '${value}'`);
  return Math.round(Number(match[1]) * (UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1));
}

/** `--memory-swap -1` means unlimited; anything else is a size. */
function parseSwap(value: string): number {
  return value.trim() === '-1' ? -1 : parseBytes(value);
}

/** `--cpus 1.5` as nano CPUs. */
export function parseCpus(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(
      `invalid argument "${value}" for "--cpus" flag: failed to parse ${value} as a rational number`,
    );
  return Math.round(n * 1e9);
}

/** `--ulimit nofile=1024[:2048]`. */
export function parseUlimit(value: string): { Name: string; Soft: number; Hard: number } {
  const match = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (!match)
    throw new UsageError(
      `invalid argument "${value}" for "--ulimit" flag: invalid ulimit argument: ${value}`,
    );
  const soft = Number(match[2]);
  const hard = match[3] === undefined ? soft : Number(match[3]);
  return { Name: match[1] as string, Soft: soft, Hard: hard };
}

/** `--device /dev/x[:/dev/y][:rwm]`. */
export function parseDevice(value: string): {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
} {
  const parts = value.split(':');
  const [host = '', second, third] = parts;
  if (parts.length > 3 || host === '')
    throw new UsageError(`invalid argument "${value}" for "--device" flag: bad format for path: ${value}`);
  if (second !== undefined && third === undefined && /^[rwm]+$/.test(second)) {
    return { PathOnHost: host, PathInContainer: host, CgroupPermissions: second };
  }
  return { PathOnHost: host, PathInContainer: second || host, CgroupPermissions: third || 'rwm' };
}

function parseKeyValues(entries: string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid argument "${entry}" for "${flag}" flag: must be key=value`);
    result[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return result;
}

/** The limit flags `update` shares with `run`. */
export function addLimitFlags(cmd: Command): Command {
  return cmd
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable');
}

export function addResourceFlags(cmd: Command): Command {
  return addLimitFlags(cmd)
    .option('--oom-kill-disable', 'Disable OOM Killer')
    .option('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)")
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('--sysctl <map>', 'Sysctl options', collect)
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--privileged', 'Give extended privileges to this container')
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--device <list>', 'Add a host device to the container', collect)
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('--pid <string>', 'PID namespace to use')
    .option('--ipc <string>', 'IPC mode to use')
    .option('--uts <string>', 'UTS namespace to use')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h)')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h)')
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy')
    .option('--health-start-period <duration>', 'Start period for the container to initialize (ms|s|m|h)')
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK');
}

/** The HostConfig limit fields the flags set; flags not given are left out. */
export function limitsOf(flags: ResourceFlags): HostConfig {
  const host: HostConfig = {};
  if (flags.memory !== undefined) host.Memory = parseBytes(flags.memory);
  if (flags.memorySwap !== undefined) host.MemorySwap = parseSwap(flags.memorySwap);
  if (flags.memoryReservation !== undefined) host.MemoryReservation = parseBytes(flags.memoryReservation);
  if (flags.cpus !== undefined) host.NanoCpus = parseCpus(flags.cpus);
  if (flags.cpuShares !== undefined) host.CpuShares = parseInteger(flags.cpuShares);
  if (flags.cpuQuota !== undefined) host.CpuQuota = parseInteger(flags.cpuQuota);
  if (flags.cpuPeriod !== undefined) host.CpuPeriod = parseInteger(flags.cpuPeriod);
  if (flags.cpusetCpus !== undefined) host.CpusetCpus = flags.cpusetCpus;
  if (flags.cpusetMems !== undefined) host.CpusetMems = flags.cpusetMems;
  if (flags.pidsLimit !== undefined) host.PidsLimit = parseInteger(flags.pidsLimit);
  if (flags.blkioWeight !== undefined) host.BlkioWeight = parseInteger(flags.blkioWeight);
  return host;
}

/** HostConfig and Config fields for the resource and isolation flags. */
export function applyResourceFlags(flags: ResourceFlags): {
  host: HostConfig;
  stopSignal?: string;
  stopTimeout?: number;
} {
  const host = limitsOf(flags);
  if (flags.oomKillDisable) host.OomKillDisable = true;
  if (flags.oomScoreAdj !== undefined) host.OomScoreAdj = parseInteger(flags.oomScoreAdj);
  if (flags.ulimit?.length) host.Ulimits = flags.ulimit.map(parseUlimit);
  if (flags.shmSize !== undefined) host.ShmSize = parseBytes(flags.shmSize);
  if (flags.sysctl?.length) host.Sysctls = parseKeyValues(flags.sysctl, '--sysctl');
  if (flags.capAdd?.length) host.CapAdd = flags.capAdd;
  if (flags.capDrop?.length) host.CapDrop = flags.capDrop;
  if (flags.privileged) host.Privileged = true;
  if (flags.securityOpt?.length) host.SecurityOpt = flags.securityOpt;
  if (flags.readOnly) host.ReadonlyRootfs = true;
  if (flags.device?.length) host.Devices = flags.device.map(parseDevice);
  if (flags.groupAdd?.length) host.GroupAdd = flags.groupAdd;
  if (flags.pid !== undefined) host.PidMode = flags.pid;
  if (flags.ipc !== undefined) host.IpcMode = flags.ipc;
  if (flags.uts !== undefined) host.UTSMode = flags.uts;
  if (flags.init) host.Init = true;
  return {
    host,
    ...(flags.stopSignal !== undefined ? { stopSignal: flags.stopSignal } : {}),
    ...(flags.stopTimeout !== undefined ? { stopTimeout: parseInteger(flags.stopTimeout) } : {}),
  };
}
