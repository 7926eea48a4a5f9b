import { open, readFile, rm } from 'node:fs/promises';
import { ConflictError } from '../api/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PidLock {
  release(): Promise<void>;
}

/**
 * Takes a lock file holding our pid. A lock whose owner has died (a SIGKILLed
 * daemon) is taken over; one whose owner lives gives a ConflictError.
 */
export async function acquirePidLock(path: string): Promise<PidLock> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new ConflictError(`another daemon (pid ${owner}) holds ${path}`);
      }
      await rm(path, { force: true });
    }
  }
  throw new ConflictError(`could not take the lock ${path}`);
}
