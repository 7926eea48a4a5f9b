import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** cgroup v1 controller name -> where its hierarchy is mounted. */
export type ControllerMounts = ReadonlyMap<string, string>;

/** Reads the cgroup v1 hierarchies from /proc/self/mountinfo; a mount may carry several controllers (`cpu,cpuacct`). */
export async function readControllerMounts(mountinfo = '/proc/self/mountinfo'): Promise<ControllerMounts> {
  return parseControllerMounts(await readFile(mountinfo, 'utf8'));
}

export function parseControllerMounts(text: string): ControllerMounts {
  const mounts = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const [fsType, , superOptions = ''] = after.split(' ');
    if (fsType !== 'cgroup') continue;
    const mountPoint = before.split(' ')[4];
    if (mountPoint === undefined) continue;
    for (const option of superOptions.split(',')) {
      if (['rw', 'ro'].includes(option) || option.includes('=')) continue;
      if (!mounts.has(option)) mounts.set(option, mountPoint);
    }
  }
  return mounts;
}

/** The directory of a container's cgroup under one controller, or undefined when that controller is not mounted. */
export function cgroupDir(
  mounts: ControllerMounts,
  controller: string,
  cgroupPath: string,
): string | undefined {
  const mount = mounts.get(controller);
  return mount === undefined ? undefined : join(mount, cgroupPath);
}

/** The pids in a container's cgroup (`cgroup.procs`); empty when the cgroup is gone. */
export async function cgroupProcs(mounts: ControllerMounts, cgroupPath: string): Promise<Set<number>> {
  for (const controller of ['pids', 'memory', 'cpuacct', 'freezer']) {
    const dir = cgroupDir(mounts, controller, cgroupPath);
    if (dir === undefined) continue;
    const text = await readIfExists(join(dir, 'cgroup.procs'));
    if (text === undefined) continue;
    return new Set(
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(Number),
    );
  }
  return new Set();
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}
