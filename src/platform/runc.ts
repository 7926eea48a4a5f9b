import { join } from 'node:path';
import { ConflictError, NotFoundError, NotModifiedError } from '../api/index.js';
import { CommandError, run } from './exec.js';
import { deleteStopped, startThroughExecFifo } from './runc-state.js';

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuncState {
  id: string;
  status: RuncStatus;
  /** 0 once the container's init has exited. */
  pid: number;
  bundle: string;
}

/** One runc state directory (`--root`). Create itself is left to conmon, which runs `runc create`. */
export interface Runc {
  start(id: string): Promise<void>; // ConflictError when stopped, NotModifiedError when running
  /** `signal` is passed through: runc accepts numbers and names. ConflictError when not running. */
  kill(id: string, signal: string, opts?: { all?: boolean }): Promise<void>;
  /** ConflictError when not stopped and not forced. */
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  state(id: string): Promise<RuncState>; // NotFoundError
  /** Freezes every process of the container (cgroup freezer). ConflictError when not running. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Applies OCI linux.resources read from a JSON file to a live container. */
  update(id: string, resourcesFile: string): Promise<void>;
}

const TIMEOUT_MS = 30_000;

/**
 * runc logs errors logfmt-style (`time="…" level=error msg="…"`); the `msg` values are
 * what a user needs to see. Text in another shape comes back trimmed as it is.
 */
export function runcErrorMessage(stderr: string): string {
  const messages: string[] = [];
  for (const match of stderr.matchAll(/\bmsg="((?:[^"\\]|\\.)*)"/g)) {
    messages.push(unquoteGo(match[1] ?? ''));
  }
  return messages.length > 0 ? messages.join('; ') : stderr.trim();
}

function unquoteGo(quoted: string): string {
  try {
    return JSON.parse(`"${quoted}"`) as string;
  } catch {
    // Go escapes JSON does not know (\a, \x..) are rare in runc's messages; keep the raw text.
    return quoted;
  }
}

/** Turns runc's failures that mean a state of the container into error kinds. */
function kindOf(id: string, e: unknown): unknown {
  if (!(e instanceof CommandError)) return e;
  const message = runcErrorMessage(e.stderr);
  if (/does not exist/.test(message)) return new NotFoundError(`No such container: ${id}`, { cause: e });
  if (/already running/.test(message)) return new NotModifiedError(message, { cause: e });
  if (/not running|has stopped|is not stopped|cannot .* paused|is paused/.test(message)) {
    return new ConflictError(message, { cause: e });
  }
  return e;
}

export function createRunc(opts: { binary: string; root: string }): Runc {
  const exec = async (id: string, args: string[]): Promise<string> => {
    try {
      const { stdout } = await run(opts.binary, ['--root', opts.root, ...args], { timeoutMs: TIMEOUT_MS });
      return stdout;
    } catch (e) {
      throw kindOf(id, e);
    }
  };
  // runc's own id rule; anything else never reaches the file system here.
  const stateDirOf = (id: string) => (/^[\w+-][\w+.-]*$/.test(id) ? join(opts.root, id) : undefined);
  return {
    async start(id) {
      const stateDir = stateDirOf(id);
      if (stateDir !== undefined && (await startThroughExecFifo(stateDir))) return;
      await exec(id, ['start', id]);
    },
    async kill(id, signal, killOpts = {}) {
      await exec(id, ['kill', ...(killOpts.all ? ['--all'] : []), id, signal]);
    },
    async delete(id, deleteOpts = {}) {
      const stateDir = stateDirOf(id);
      if (stateDir !== undefined && (await deleteStopped(stateDir))) return;
      await exec(id, ['delete', ...(deleteOpts.force ? ['--force'] : []), id]);
    },
    async pause(id) {
      await exec(id, ['pause', id]);
    },
    async resume(id) {
      await exec(id, ['resume', id]);
    },
    async update(id, resourcesFile) {
      await exec(id, ['update', '--resources', resourcesFile, id]);
    },
    async state(id) {
      const parsed = JSON.parse(await exec(id, ['state', id])) as RuncState;
      return { id: parsed.id, status: parsed.status, pid: parsed.pid, bundle: parsed.bundle };
    },
  };
}
