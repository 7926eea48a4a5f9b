/**
 * HostConfig's resource limits: validated with Docker's messages, and turned into
 * OCI `linux.resources` and process settings. Shared by create, update and start.
 */
import { cpus } from 'node:os';
import type { HostConfig } from '../api/index.js';
import { InvalidArgumentError } from '../api/index.js';

const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

// Docker's ulimit names (`--ulimit nofile=...`) and their OCI rlimit types.
const RLIMIT_TYPES: Record<string, string> = {
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
  as: 'RLIMIT_AS',
};

function numberField(hostConfig: HostConfig, key: string): number | undefined {
  const value = hostConfig[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`invalid ${key}: must be a number`);
  }
  return value;
}

/** Parses `0-2,4` into CPU or node numbers; InvalidArgumentError for anything else. */
export function parseCpuList(text: string, what: string): number[] {
  const result: number[] = [];
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new InvalidArgumentError(`Invalid value ${text} for ${what}`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw new InvalidArgumentError(`Invalid value ${text} for ${what}`);
    for (let n = from; n <= to; n++) result.push(n);
  }
  return result;
}

/**
 * Checks limits as dockerd does (same messages), plus what this host cannot grant:
 * an rlimit above the host's own hard limit would make runc fail without
 * CAP_SYS_RESOURCE, so it is refused up front.
 */
export function validateResources(hostConfig: HostConfig, hostHardLimits: Record<string, number> = {}): void {
  for (const key of [
    'Memory',
    'MemoryReservation',
    'NanoCpus',
    'CpuShares',
    'CpuQuota',
    'CpuPeriod',
    'ShmSize',
  ]) {
    const value = numberField(hostConfig, key);
    if (value !== undefined && value < 0)
      throw new InvalidArgumentError(`invalid ${key}: must not be negative`);
  }
  const memory = numberField(hostConfig, 'Memory') ?? 0;
  const swap = numberField(hostConfig, 'MemorySwap') ?? 0;
  const reservation = numberField(hostConfig, 'MemoryReservation') ?? 0;
  if (memory > 0 && memory < MIN_MEMORY_BYTES)
    throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  if (swap > 0 && memory === 0) {
    throw new InvalidArgumentError(
      'You should always set the Memory limit when using Memoryswap limit, see usage',
    );
  }
  if (swap > 0 && swap < memory) {
    throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (memory > 0 && reservation > memory) {
    throw new InvalidArgumentError(
      'Minimum memory limit can not be less than memory reservation limit, see usage',
    );
  }
  const nanoCpus = numberField(hostConfig, 'NanoCpus') ?? 0;
  const quota = numberField(hostConfig, 'CpuQuota') ?? 0;
  const period = numberField(hostConfig, 'CpuPeriod') ?? 0;
  if (nanoCpus > 0 && (quota > 0 || period > 0)) {
    throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  const hostCpus = cpus().length;
  if (nanoCpus > 0 && (nanoCpus < 1e7 || nanoCpus > hostCpus * 1e9)) {
    throw new InvalidArgumentError(
      `Range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`,
    );
  }
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw new InvalidArgumentError(
      'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)',
    );
  }
  if (quota > 0 && quota < 1000)
    throw new InvalidArgumentError('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const blkioWeight = numberField(hostConfig, 'BlkioWeight') ?? 0;
  if (blkioWeight !== 0 && (blkioWeight < 10 || blkioWeight > 1000)) {
    throw new InvalidArgumentError('Range of blkio weight is from 10 to 1000');
  }
  const cpuset = hostConfig.CpusetCpus;
  if (typeof cpuset === 'string' && cpuset !== '') {
    const wanted = parseCpuList(cpuset, 'cpuset cpus');
    if (wanted.some((n) => n >= hostCpus)) {
      throw new InvalidArgumentError(
        `Requested CPUs are not available - requested ${cpuset}, available: 0-${hostCpus - 1}`,
      );
    }
  }
  if (typeof hostConfig.CpusetMems === 'string' && hostConfig.CpusetMems !== '') {
    parseCpuList(hostConfig.CpusetMems, 'cpuset mems');
  }
  for (const ulimit of ulimitsOf(hostConfig)) {
    if (!(ulimit.Name in RLIMIT_TYPES)) throw new InvalidArgumentError(`invalid ulimit type: ${ulimit.Name}`);
    if (ulimit.Soft > ulimit.Hard) {
      throw new InvalidArgumentError(
        `invalid ulimit argument: ulimit soft limit must be less than or equal to hard limit: ${ulimit.Soft} > ${ulimit.Hard}`,
      );
    }
    const hostHard = hostHardLimits[ulimit.Name];
    if (hostHard !== undefined && ulimit.Hard > hostHard) {
      throw new InvalidArgumentError(
        `ulimit ${ulimit.Name}=${ulimit.Soft}:${ulimit.Hard} is above this host's hard limit of ${hostHard}, which the daemon cannot raise`,
      );
    }
  }
}

export function ulimitsOf(hostConfig: HostConfig): Ulimit[] {
  const value = hostConfig.Ulimits;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError('invalid Ulimits: must be a list');
  return value.map((u: unknown) => {
    const { Name, Soft, Hard } = (u ?? {}) as Partial<Ulimit>;
    if (typeof Name !== 'string' || typeof Soft !== 'number' || typeof Hard !== 'number') {
      throw new InvalidArgumentError('invalid Ulimits: each needs Name, Soft and Hard');
    }
    return { Name, Soft, Hard };
  });
}

/** OCI process.rlimits for `--ulimit`. */
export function rlimitsOf(hostConfig: HostConfig): { type: string; soft: number; hard: number }[] {
  return ulimitsOf(hostConfig).map((u) => ({
    type: RLIMIT_TYPES[u.Name] ?? u.Name,
    soft: u.Soft,
    hard: u.Hard,
  }));
}

/** OCI linux.resources from HostConfig; undefined when nothing is limited. */
export function resourcesOf(hostConfig: HostConfig): Record<string, unknown> | undefined {
  const resources: Record<string, unknown> = {};
  const memory: Record<string, number | boolean> = {};
  const limit = numberField(hostConfig, 'Memory') ?? 0;
  if (limit > 0) memory.limit = limit;
  const swap = numberField(hostConfig, 'MemorySwap') ?? 0;
  // Docker: -1 is unlimited swap; 0 means swap equal to the memory limit (limit + same again).
  if (limit > 0) memory.swap = swap === -1 ? -1 : swap > 0 ? swap : limit * 2;
  const reservation = numberField(hostConfig, 'MemoryReservation') ?? 0;
  if (reservation > 0) memory.reservation = reservation;
  if (hostConfig.OomKillDisable === true) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) resources.memory = memory;

  const cpu: Record<string, number | string> = {};
  const shares = numberField(hostConfig, 'CpuShares') ?? 0;
  if (shares > 0) cpu.shares = shares;
  const nanoCpus = numberField(hostConfig, 'NanoCpus') ?? 0;
  if (nanoCpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.round((nanoCpus * 100_000) / 1e9);
  }
  const quota = numberField(hostConfig, 'CpuQuota') ?? 0;
  const period = numberField(hostConfig, 'CpuPeriod') ?? 0;
  if (quota > 0) cpu.quota = quota;
  if (period > 0) cpu.period = period;
  if (typeof hostConfig.CpusetCpus === 'string' && hostConfig.CpusetCpus) cpu.cpus = hostConfig.CpusetCpus;
  if (typeof hostConfig.CpusetMems === 'string' && hostConfig.CpusetMems) cpu.mems = hostConfig.CpusetMems;
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;

  const pids = numberField(hostConfig, 'PidsLimit');
  if (pids !== undefined && pids > 0) resources.pids = { limit: pids };
  const blkioWeight = numberField(hostConfig, 'BlkioWeight') ?? 0;
  if (blkioWeight > 0) resources.blockIO = { weight: blkioWeight };
  return Object.keys(resources).length > 0 ? resources : undefined;
}

/** The fields `POST /containers/{id}/update` may change. */
export const UPDATABLE_FIELDS = [
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'NanoCpus',
  'CpuShares',
  'CpuQuota',
  'CpuPeriod',
  'CpusetCpus',
  'CpusetMems',
  'PidsLimit',
  'BlkioWeight',
  'RestartPolicy',
] as const;

const PROC_LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'cpu',
  'Max file size': 'fsize',
  'Max data size': 'data',
  'Max stack size': 'stack',
  'Max core file size': 'core',
  'Max resident set': 'rss',
  'Max processes': 'nproc',
  'Max open files': 'nofile',
  'Max locked memory': 'memlock',
  'Max address space': 'as',
  'Max file locks': 'locks',
  'Max pending signals': 'sigpending',
  'Max msgqueue size': 'msgqueue',
  'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio',
  'Max realtime timeout': 'rttime',
};

/** The daemon's own hard limits by Docker's ulimit names, from /proc/self/limits text ('unlimited' left out). */
export function parseHardLimits(procLimits: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const line of procLimits.split('\n')) {
    const name = Object.keys(PROC_LIMIT_NAMES).find((n) => line.startsWith(n));
    if (!name) continue;
    const [, hard] = line.slice(name.length).trim().split(/\s+/);
    const ulimit = PROC_LIMIT_NAMES[name];
    if (ulimit && hard && /^\d+$/.test(hard)) limits[ulimit] = Number(hard);
  }
  return limits;
}
