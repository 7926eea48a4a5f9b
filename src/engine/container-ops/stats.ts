import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { type ControllerMounts, cgroupDir, readIfExists } from './cgroups.js';

/** One blkio counter, per device and operation, as cgroup v1 reports it. */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface NetworkCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** What the kernel says about a running container at one instant. */
export interface ResourceSample {
  /** When it was read. */
  read: Date;
  cpu: {
    totalNs: number;
    perCpuNs: number[];
    userNs: number;
    systemNs: number;
    throttling: { periods: number; throttledPeriods: number; throttledTimeNs: number };
  };
  /** CPU time of the whole host since boot, as Docker counts it (user through softirq). */
  systemCpuNs: number;
  onlineCpus: number;
  memory: {
    usage: number;
    maxUsage: number;
    failcnt: number;
    /** The cgroup's limit, or the host's memory when the cgroup has none. */
    limit: number;
    stats: Record<string, number>;
  };
  pids: { current: number; limit?: number };
  blkio: { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] };
  /** By interface name, loopback left out. */
  networks: Record<string, NetworkCounters>;
}

// USER_HZ: /proc/stat and cpuacct.stat count in these ticks on every Linux we run on.
const NS_PER_TICK = 1e9 / 100;

/** Samples a container's cgroup v1 counters and its network namespace (through its pid). */
export async function sampleResources(
  mounts: ControllerMounts,
  cgroupPath: string,
  pid: number,
): Promise<ResourceSample> {
  const dir = (controller: string) => cgroupDir(mounts, controller, cgroupPath);
  const read = new Date();
  const [cpu, systemCpuNs, memory, pids, blkio, networks] = await Promise.all([
    readCpu(dir('cpuacct'), dir('cpu')),
    readSystemCpuNs(),
    readMemory(dir('memory')),
    readPids(dir('pids')),
    readBlkio(dir('blkio')),
    readNetworks(pid),
  ]);
  return { read, cpu, systemCpuNs, onlineCpus: cpus().length, memory, pids, blkio, networks };
}

async function readNumber(dir: string | undefined, file: string): Promise<number> {
  if (dir === undefined) return 0;
  const text = await readIfExists(join(dir, file));
  const n = Number(text?.trim());
  return Number.isFinite(n) ? n : 0;
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat). */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && Number.isFinite(Number(value))) result[key] = Number(value);
  }
  return result;
}

async function readCpu(cpuacct: string | undefined, cpu: string | undefined): Promise<ResourceSample['cpu']> {
  const perCpuText = cpuacct ? await readIfExists(join(cpuacct, 'cpuacct.usage_percpu')) : undefined;
  const ticks = parseFlatKeyed(cpuacct ? await readIfExists(join(cpuacct, 'cpuacct.stat')) : undefined);
  const throttled = parseFlatKeyed(cpu ? await readIfExists(join(cpu, 'cpu.stat')) : undefined);
  return {
    totalNs: await readNumber(cpuacct, 'cpuacct.usage'),
    perCpuNs: (perCpuText ?? '')
      .trim()
      .split(/\s+/)
      .filter((v) => v !== '')
      .map(Number),
    userNs: (ticks.user ?? 0) * NS_PER_TICK,
    systemNs: (ticks.system ?? 0) * NS_PER_TICK,
    throttling: {
      periods: throttled.nr_periods ?? 0,
      throttledPeriods: throttled.nr_throttled ?? 0,
      throttledTimeNs: throttled.throttled_time ?? 0,
    },
  };
}

async function readSystemCpuNs(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  const fields = (line ?? '').trim().split(/\s+/).slice(1, 8).map(Number);
  return fields.reduce((sum, n) => sum + (Number.isFinite(n) ? n : 0), 0) * NS_PER_TICK;
}

async function readMemory(dir: string | undefined): Promise<ResourceSample['memory']> {
  const limit = await readNumber(dir, 'memory.limit_in_bytes');
  const host = totalmem();
  return {
    usage: await readNumber(dir, 'memory.usage_in_bytes'),
    maxUsage: await readNumber(dir, 'memory.max_usage_in_bytes'),
    failcnt: await readNumber(dir, 'memory.failcnt'),
    // Without a limit cgroup v1 reports a huge number; Docker shows the host's memory then.
    limit: limit > 0 && limit < host ? limit : host,
    stats: parseFlatKeyed(dir ? await readIfExists(join(dir, 'memory.stat')) : undefined),
  };
}

async function readPids(dir: string | undefined): Promise<ResourceSample['pids']> {
  const max = dir ? (await readIfExists(join(dir, 'pids.max')))?.trim() : undefined;
  const limit = max === undefined || max === 'max' ? undefined : Number(max);
  return {
    current: await readNumber(dir, 'pids.current'),
    ...(limit !== undefined && Number.isFinite(limit) ? { limit } : {}),
  };
}

/** `MAJ:MIN Op value` lines of blkio.throttle.*; the `Total` line is left out, as Docker does. */
export function parseBlkio(text: string | undefined): BlkioEntry[] {
  const entries: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const match = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (!match) continue;
    entries.push({
      major: Number(match[1]),
      minor: Number(match[2]),
      op: match[3] as string,
      value: Number(match[4]),
    });
  }
  return entries;
}

async function readBlkio(dir: string | undefined): Promise<ResourceSample['blkio']> {
  if (dir === undefined) return { serviceBytes: [], serviced: [] };
  return {
    serviceBytes: parseBlkio(await readIfExists(join(dir, 'blkio.throttle.io_service_bytes'))),
    serviced: parseBlkio(await readIfExists(join(dir, 'blkio.throttle.io_serviced'))),
  };
}

/** /proc/<pid>/net/dev: the counters of every interface in the process's network namespace. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const result: Record<string, NetworkCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    result[name] = {
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    };
  }
  return result;
}

async function readNetworks(pid: number): Promise<Record<string, NetworkCounters>> {
  if (pid <= 0) return {};
  const text = await readIfExists(`/proc/${pid}/net/dev`);
  return text === undefined ? {} : parseNetDev(text);
}
