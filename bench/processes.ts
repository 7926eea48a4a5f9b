/**
 * Memory of an engine's processes, read from /proc: the daemon, whatever it spawned,
 * and its helpers (shims, conmon) that detach from it but name its directories.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcessInfo {
  pid: number;
  ppid: number;
  program: string;
  argv: string[];
}

function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8')
        .split('\0')
        .filter((a) => a !== '');
      found.push({ pid: Number(name), ppid, program: (argv[0] ?? '').split('/').pop() ?? '', argv });
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/** Programs that are part of an engine rather than of a container. */
const HELPER_PROGRAMS = new Set([
  'node',
  'dockerd',
  'containerd',
  'containerd-shim',
  'containerd-shim-runc-v2',
  'conmon',
  'runc',
  'docker-proxy',
]);

export interface EngineProcesses {
  /** The daemon's pid; undefined for a daemonless engine (podman). */
  daemonPid: number | undefined;
  /** Directories only this engine's processes name on their command line. */
  markers: string[];
}

/** Pids of the daemon, its helper descendants, and helpers naming one of the markers. */
export function enginePids(e: EngineProcesses): number[] {
  const all = listProcesses();
  const ours = new Set<number>();
  if (e.daemonPid !== undefined && all.some((p) => p.pid === e.daemonPid)) ours.add(e.daemonPid);
  for (const p of all) {
    if (HELPER_PROGRAMS.has(p.program) && p.argv.some((a) => e.markers.some((m) => a.includes(m))))
      ours.add(p.pid);
  }
  // Descendants of the daemon that are engine programs (containerd under dockerd, say).
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!ours.has(p.pid) && ours.has(p.ppid) && HELPER_PROGRAMS.has(p.program)) {
        ours.add(p.pid);
        grew = true;
      }
    }
  }
  return [...ours];
}

/** Resident set size in KiB; 0 for a process that is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function totalRssMiB(e: EngineProcesses): number {
  return enginePids(e).reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024;
}
