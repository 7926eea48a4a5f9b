/**
 * Two runc commands done in-process, from runc's own state directory, because each runc
 * process costs ~10 ms on every container start and exit (issue 7). Both only ever take
 * the easy case and leave anything else to the runc program:
 *
 * - start: a created container's init waits, blocked, to open `exec.fifo` for writing;
 *   `runc start` opens it for reading, reads the byte init writes, waits for the end of
 *   file that init's exec brings, and removes the fifo. The same steps here.
 * - delete of a stopped container: with the init process gone, `runc delete` removes the
 *   container's cgroup directories and its state directory. The same here; a live init,
 *   a cgroup still holding processes, or a state this code does not know goes to runc.
 */
import { constants } from 'node:fs';
import { open, readFile, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../api/index.js';
import { liveProcess } from './proc.js';

const EXEC_FIFO = 'exec.fifo';
/** How often a start waiting on the fifo checks that init is still alive. */
const INIT_CHECK_MS = 50;

interface StateFile {
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
}

async function readStateFile(stateDir: string): Promise<StateFile | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as StateFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** Whether `pid` is still the process runc started (same start time) and not a zombie. */
async function isInitAlive(pid: number, startTime: number): Promise<boolean> {
  return (await liveProcess(pid))?.startTime === startTime;
}

/**
 * Starts a created container through its exec fifo. false when there is no fifo (the
 * container is not in the created state, or the runtime is not runc-like): the caller
 * then runs `runc start`, whose errors say which state it is in.
 */
export async function startThroughExecFifo(stateDir: string): Promise<boolean> {
  const fifo = join(stateDir, EXEC_FIFO);
  const state = await readStateFile(stateDir);
  const pid = state?.init_process_pid;
  const startTime = state?.init_process_start;
  if (pid === undefined || startTime === undefined) return false;
  let opened = false;
  // A blocking open waits for init to open its end; an init that died first never will,
  // so a watcher opens a writer of its own to let the open return, and reads find nothing.
  const watcher = setInterval(() => {
    isInitAlive(pid, startTime).then(
      (alive) => {
        if (!alive && !opened) void unblockReader(fifo);
      },
      () => undefined,
    );
  }, INIT_CHECK_MS);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(fifo, constants.O_RDONLY);
  } catch (e) {
    clearInterval(watcher);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  opened = true;
  clearInterval(watcher);
  let received = 0;
  try {
    const buffer = Buffer.alloc(16);
    // init writes one byte, then its exec closes the write end: end of file means it ran.
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      received += bytesRead;
    }
  } finally {
    await handle.close();
  }
  if (received === 0) throw new ConflictError('container process is already dead');
  await unlink(fifo);
  return true;
}

/** Lets a reader blocked opening `fifo` go on: a non-blocking write open succeeds only while one waits. */
async function unblockReader(fifo: string): Promise<void> {
  try {
    const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    await writer.close();
  } catch {
    // ENXIO: no reader waits (it just got in); ENOENT: the fifo is gone. Either way nothing to do.
  }
}

/**
 * Removes a stopped container's cgroups and state directory. false when that is not
 * clearly safe (init alive, a cgroup still busy, an unknown state file): the caller
 * then runs `runc delete`, which kills what is left and retries.
 */
export async function deleteStopped(stateDir: string): Promise<boolean> {
  const state = await readStateFile(stateDir);
  const pid = state?.init_process_pid;
  const startTime = state?.init_process_start;
  if (pid === undefined || startTime === undefined || state?.cgroup_paths === undefined) return false;
  if (await isInitAlive(pid, startTime)) return false;
  // One hierarchy's removal does not wait on another's: side by side.
  const removed = await Promise.all(
    [...new Set(Object.values(state.cgroup_paths))].map((path) =>
      rmdir(path).then(
        () => true,
        (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
      ),
    ),
  );
  if (removed.includes(false)) return false;
  await rm(stateDir, { recursive: true, force: true });
  return true;
}
