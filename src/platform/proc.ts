import { readFile } from 'node:fs/promises';

/** What `/proc/<pid>/stat` says of a process that is still there (not a zombie, not dead). */
export interface LiveProcess {
  /** The command name, as the kernel keeps it (at most 15 characters). */
  command: string;
  /** Start time in clock ticks after boot: with the pid, it names one process for good. */
  startTime: number;
}

/** The live process `pid`, or undefined when there is none (gone, a zombie, or dead). */
export async function liveProcess(pid: number): Promise<LiveProcess | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH')
      return undefined;
    throw e;
  }
  // The command name is in parentheses and may hold spaces: the fields after it are
  // state (3rd of the line) ... starttime (22nd).
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return { command: stat.slice(stat.indexOf('(') + 1, close), startTime: Number(fields[19]) };
}
