import { BerthError, InvalidArgumentError, messageOf } from '../../api/index.js';
import { run } from '../../platform/index.js';

export interface ProcessTable {
  titles: string[];
  processes: string[][];
}

/**
 * Runs the host's `ps` with the user's arguments and keeps the rows of `pids`, as
 * Docker's top does: the PIDs are the host's, and `ps` options shape the columns.
 */
export async function listProcesses(pids: ReadonlySet<number>, psArgs: string): Promise<ProcessTable> {
  const args = psArgs.split(/\s+/).filter((a) => a !== '');
  let stdout: string;
  try {
    ({ stdout } = await run('ps', args));
  } catch (e) {
    throw new BerthError(`Error running ps: ${messageOf(e)}`, { cause: e });
  }
  return parsePsOutput(stdout, pids);
}

/** Splits `ps` output into columns; the last column (the command) keeps its spaces. */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): ProcessTable {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new InvalidArgumentError("Couldn't find PID field in ps output");
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const row =
      fields.length > titles.length
        ? [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]
        : fields;
    const pid = Number(row[pidIndex]);
    if (!Number.isInteger(pid)) {
      throw new BerthError(`Unexpected pid '${row[pidIndex] ?? ''}' in ps output`);
    }
    if (pids.has(pid)) processes.push(row);
  }
  return { titles, processes };
}
