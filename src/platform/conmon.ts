import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BerthError, InvalidArgumentError, UnavailableError } from '../api/index.js';

/** conmon started, but the OCI runtime's create failed; `runtimeMessage` is the runtime's own text. */
export class ConmonCreateError extends BerthError {
  override name = 'ConmonCreateError';
  constructor(
    readonly runtimeMessage: string,
    options?: ErrorOptions,
  ) {
    super(runtimeMessage, options);
  }
}

export interface ConmonCreateOptions {
  /** conmon's binary, a name looked up in PATH or a path. */
  binary: string;
  /** Absolute path of the OCI runtime; conmon execs it without a PATH search. */
  runtimePath: string;
  /** Global runtime flags conmon puts before `create`, e.g. `--root=/run/berth/runc`. */
  runtimeArgs: string[];
  id: string;
  bundleDir: string;
  /** Where runc writes the container's pid. */
  containerPidFile: string;
  /** Where conmon writes its own pid (it double-forks, so the spawned child is not it). */
  conmonPidFile: string;
  /** conmon writes `<exitDir>/<id>` holding the exit code (128+n for a signal death). */
  exitDir: string;
  /** conmon writes `exit` and, after an OOM kill, `oom` here; must exist. */
  persistDir: string;
  /** conmon links `<socketDir>/<id>` to the bundle and listens on `<socketDir>/<id>/attach`. */
  socketDir: string;
  /** k8s-file log: `TIME stream F|P content` per line. */
  logPath: string;
  /** Where conmon's own stderr goes, read back when it fails before reporting a pid. */
  diagnosticsPath: string;
  stdin?: boolean;
  terminal?: boolean;
  timeoutMs?: number;
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const START_PIPE_FD = 3;
const SYNC_PIPE_FD = 4;

export function attachSocketPath(socketDir: string, id: string): string {
  return join(socketDir, id, 'attach');
}

/** Finds a program the way execvp would, so conmon gets a path it can exec directly. */
export async function resolveExecutable(name: string): Promise<string> {
  const candidates = name.includes('/')
    ? [resolve(name)]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; try the next, as execvp does.
    }
  }
  throw new UnavailableError(`${name}: executable file not found in $PATH`);
}

function conmonArgs(opts: ConmonCreateOptions): string[] {
  return [
    '--api-version',
    '1',
    '--cid',
    opts.id,
    '--cuuid',
    opts.id,
    '--name',
    opts.id,
    '--runtime',
    opts.runtimePath,
    '--bundle',
    opts.bundleDir,
    '--container-pidfile',
    opts.containerPidFile,
    '--conmon-pidfile',
    opts.conmonPidFile,
    '--exit-dir',
    opts.exitDir,
    '--persist-dir',
    opts.persistDir,
    '--socket-dir-path',
    opts.socketDir,
    '--log-path',
    `k8s-file:${opts.logPath}`,
    ...opts.runtimeArgs.flatMap((arg) => ['--runtime-arg', arg]),
    ...(opts.stdin ? ['--stdin'] : []),
    ...(opts.terminal ? ['--terminal'] : []),
  ];
}

/**
 * Spawns conmon for one container and waits until `runc create` is done. conmon
 * daemonizes (its own session, double fork), so it and the container outlive us.
 * Returns the container's pid; ConmonCreateError carries the runtime's message.
 */
export async function spawnConmon(opts: ConmonCreateOptions): Promise<number> {
  const socketPath = attachSocketPath(opts.socketDir, opts.id);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new InvalidArgumentError(`attach socket path too long for a unix socket: ${socketPath}`);
  }
  const binary = await resolveExecutable(opts.binary);
  const args = conmonArgs(opts);
  const diagnostics = await open(opts.diagnosticsPath, 'w', 0o600);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(binary, args, {
      cwd: opts.bundleDir,
      detached: true,
      // stdout must not be a pipe we later close: conmon would die of SIGPIPE writing to it.
      stdio: ['ignore', 'ignore', diagnostics.fd, 'pipe', 'pipe'],
      env: { ...process.env, _OCI_STARTPIPE: String(START_PIPE_FD), _OCI_SYNCPIPE: String(SYNC_PIPE_FD) },
    });
  } finally {
    await diagnostics.close();
  }
  const startPipe = child.stdio[START_PIPE_FD] as Writable;
  const syncPipe = child.stdio[SYNC_PIPE_FD] as Readable;
  try {
    const message = await readSyncMessage(child, startPipe, syncPipe, opts.timeoutMs ?? 30_000);
    if (message.data < 0) {
      throw new ConmonCreateError(message.message ?? `conmon reported failure ${message.data}`);
    }
    return message.data;
  } catch (e) {
    if (e instanceof ConmonCreateError) throw e;
    // conmon's own stderr only enriches the message; the failure itself is what we throw.
    const stderr = (
      await readFile(opts.diagnosticsPath, 'utf8').catch((readError: unknown) => String(readError))
    ).trim();
    throw new UnavailableError(
      `conmon for ${opts.id}: ${(e as Error).message}${stderr ? `: ${stderr}` : ''}`,
      {
        cause: e,
      },
    );
  } finally {
    startPipe.destroy();
    syncPipe.destroy();
    child.unref();
  }
}

interface SyncMessage {
  data: number;
  message?: string;
}

function readSyncMessage(
  child: ReturnType<typeof spawn>,
  startPipe: Writable,
  syncPipe: Readable,
  timeoutMs: number,
): Promise<SyncMessage> {
  return new Promise((resolvePromise, reject) => {
    let received = '';
    const timer = setTimeout(() => {
      // The spawned process is only conmon's first fork; the daemonized one is found by its pidfile later.
      child.kill('SIGKILL');
      reject(new Error(`no pid reported within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      syncPipe.removeAllListeners('data');
      outcome();
    };
    child.on('error', (e) => settle(() => reject(e)));
    syncPipe.on('error', (e) => settle(() => reject(e)));
    startPipe.on('error', (e) => settle(() => reject(e)));
    syncPipe.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      const newline = received.indexOf('\n');
      if (newline < 0) return;
      const line = received.slice(0, newline);
      settle(() => {
        try {
          const parsed = JSON.parse(line) as SyncMessage;
          if (typeof parsed.data !== 'number') throw new Error(`unexpected sync message: ${line}`);
          resolvePromise(parsed);
        } catch (e) {
          reject(e);
        }
      });
    });
    syncPipe.on('end', () => settle(() => reject(new Error('exited without reporting a pid'))));
    // conmon waits for this byte before it runs `runc create`.
    startPipe.write(Buffer.from([0]));
  });
}
