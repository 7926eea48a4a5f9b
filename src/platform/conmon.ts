import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, readFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SeqpacketSocket } from 'node-unix-socket';
import { BerthError, InvalidArgumentError, NotFoundError, UnavailableError } from '../api/index.js';

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
  /** Keep the container's stdin open when an attached client goes (Docker's `StdinOnce: false`, or a TTY). */
  leaveStdinOpen?: boolean;
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
    ...(opts.stdin && opts.leaveStdinOpen ? ['--leave-stdin-open'] : []),
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

/** One exec session under conmon (`conmon --exec`): its own dir holds the attach socket, ctl fifo, log and pid. */
export interface ConmonExecOptions {
  binary: string;
  runtimePath: string;
  runtimeArgs: string[];
  containerId: string;
  execId: string;
  /** The session's own directory: conmon's bundle (attach socket, ctl fifo) and persist dir (`exit`). */
  dir: string;
  /** The OCI process JSON that `runc exec --process` runs. */
  processSpecPath: string;
  socketDir: string;
  logPath: string;
  stdin?: boolean;
  terminal?: boolean;
  timeoutMs?: number;
}

export interface ConmonExec {
  pid: number;
  /** The exit code conmon reports (128+n for a signal); -1 when conmon went away without one. */
  exited: Promise<number>;
}

/** conmon ran, but `runc exec` did not start the process; `runtimeMessage` is runc's text. */
export class ConmonExecError extends BerthError {
  override name = 'ConmonExecError';
  constructor(
    readonly runtimeMessage: string,
    options?: ErrorOptions,
  ) {
    super(runtimeMessage, options);
  }
}

function execArgs(opts: ConmonExecOptions): string[] {
  return [
    '--api-version',
    '1',
    '--cid',
    opts.containerId,
    '--cuuid',
    opts.execId,
    '--name',
    opts.execId,
    '--runtime',
    opts.runtimePath,
    '--bundle',
    opts.dir,
    '--container-pidfile',
    join(opts.dir, 'pid'),
    '--conmon-pidfile',
    join(opts.dir, 'conmon.pid'),
    // No --exit-dir: it names exit files by container id, which the session shares.
    '--persist-dir',
    opts.dir,
    '--socket-dir-path',
    opts.socketDir,
    '--log-path',
    `k8s-file:${opts.logPath}`,
    ...opts.runtimeArgs.flatMap((arg) => ['--runtime-arg', arg]),
    ...(opts.stdin ? ['--stdin'] : []),
    ...(opts.terminal ? ['--terminal'] : []),
    '--exec',
    '--exec-process-spec',
    opts.processSpecPath,
  ];
}

/** Lines of conmon's sync pipe as they come: `{"data": N, "message": "..."}`. */
function syncMessages(syncPipe: Readable): () => Promise<SyncMessage | undefined> {
  const queue: (SyncMessage | undefined)[] = [];
  const waiting: ((m: SyncMessage | undefined) => void)[] = [];
  let received = '';
  const deliver = (message: SyncMessage | undefined) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  };
  syncPipe.on('data', (chunk: Buffer) => {
    received += chunk.toString();
    for (let newline = received.indexOf('\n'); newline >= 0; newline = received.indexOf('\n')) {
      const line = received.slice(0, newline);
      received = received.slice(newline + 1);
      try {
        const parsed = JSON.parse(line) as SyncMessage;
        deliver(typeof parsed.data === 'number' ? parsed : { data: -1, message: `unexpected: ${line}` });
      } catch {
        deliver({ data: -1, message: `unreadable sync message: ${line}` });
      }
    }
  });
  // An end or error means no more messages: every later wait gets undefined.
  const finish = () => {
    while (waiting.length > 0) deliver(undefined);
    queue.push(undefined);
  };
  syncPipe.on('end', finish);
  syncPipe.on('error', finish);
  return () => {
    if (queue.length > 0) {
      const next = queue[0];
      // The end marker stays, so every later call sees it too.
      if (next !== undefined) queue.shift();
      return Promise.resolve(next);
    }
    return new Promise((resolvePromise) => waiting.push(resolvePromise));
  };
}

/**
 * Starts `runc exec` under its own conmon and resolves once the process runs, with
 * its pid and a promise of its exit code (conmon sends both down the sync pipe).
 * ConmonExecError carries runc's message when the process could not be started.
 */
export async function spawnExecConmon(opts: ConmonExecOptions): Promise<ConmonExec> {
  const socketPath = attachSocketPath(opts.socketDir, opts.execId);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new InvalidArgumentError(`attach socket path too long for a unix socket: ${socketPath}`);
  }
  const binary = await resolveExecutable(opts.binary);
  const diagnosticsPath = join(opts.dir, 'conmon.stderr');
  const diagnostics = await open(diagnosticsPath, 'w', 0o600);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(binary, execArgs(opts), {
      cwd: opts.dir,
      detached: true,
      stdio: ['ignore', 'ignore', diagnostics.fd, 'pipe', 'pipe'],
      env: { ...process.env, _OCI_STARTPIPE: String(START_PIPE_FD), _OCI_SYNCPIPE: String(SYNC_PIPE_FD) },
    });
  } finally {
    await diagnostics.close();
  }
  const startPipe = child.stdio[START_PIPE_FD] as Writable;
  const syncPipe = child.stdio[SYNC_PIPE_FD] as Readable;
  const next = syncMessages(syncPipe);
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);
  startPipe.on('error', () => undefined); // a conmon that dies early shows as a missing pid below
  startPipe.end(Buffer.from([0]));
  child.unref();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(undefined), timeoutMs);
  });
  let first: SyncMessage | undefined;
  try {
    first = await Promise.race([next(), timeout, spawnError]);
  } catch (e) {
    syncPipe.destroy();
    throw new UnavailableError(`conmon for exec ${opts.execId}: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
  if (first === undefined || first.data < 0) {
    syncPipe.destroy();
    const stderr = (
      await readFile(diagnosticsPath, 'utf8').catch((readError: unknown) => String(readError))
    ).trim();
    if (first !== undefined) throw new ConmonExecError(first.message ?? `conmon reported ${first.data}`);
    throw new UnavailableError(
      `conmon for exec ${opts.execId} reported no pid within ${timeoutMs} ms${stderr ? `: ${stderr}` : ''}`,
    );
  }
  const exited = next().then(async (message) => {
    syncPipe.destroy();
    if (message !== undefined) return message.data;
    // conmon also leaves the code in its persist dir; the pipe may have closed first.
    const text = (await readFile(join(opts.dir, 'exit'), 'utf8').catch(() => '')).trim();
    return /^-?\d+$/.test(text) ? Number(text) : -1;
  });
  return { pid: first.data, exited };
}

/** A connection to conmon's attach socket, used to feed the process's stdin. */
export interface AttachSocket {
  /** Resolves once the bytes are with the kernel. */
  write(data: Buffer): Promise<void>;
  /** Half-closes: conmon then closes the process's stdin, unless it runs with --leave-stdin-open. */
  end(): void;
  /** Drops the connection (the same for stdin as `end`). */
  close(): void;
}

/** conmon reads each packet into a 32 KiB buffer and drops what does not fit. */
const ATTACH_PACKET_BYTES = 16 * 1024;

/** Connects to `<socketDir>/<id>/attach` (a container's or an exec session's); NotFoundError when gone. */
export function openAttachSocket(socketDir: string, id: string): Promise<AttachSocket> {
  const path = attachSocketPath(socketDir, id);
  return new Promise((resolvePromise, reject) => {
    const socket = new SeqpacketSocket();
    let isConnected = false;
    socket.on('error', (e: Error) => {
      if (!isConnected) reject(new NotFoundError(`attach socket ${path}: ${e.message}`, { cause: e }));
    });
    // conmon's output arrives here too; attach reads output from the log instead.
    socket.on('data', () => undefined);
    try {
      socket.connect(path, () => {
        isConnected = true;
        resolvePromise(attachSocketOf(socket));
      });
    } catch (e) {
      reject(new NotFoundError(`attach socket ${path}: ${(e as Error).message}`, { cause: e }));
    }
  });
}

function attachSocketOf(socket: SeqpacketSocket): AttachSocket {
  let isClosed = false;
  socket.on('close', () => {
    isClosed = true;
  });
  const writePacket = (packet: Buffer) =>
    new Promise<void>((resolveWrite) => {
      if (isClosed) {
        resolveWrite();
        return;
      }
      socket.write(packet, 0, packet.length, () => resolveWrite());
    });
  return {
    async write(data) {
      for (let offset = 0; offset < data.length; offset += ATTACH_PACKET_BYTES) {
        await writePacket(data.subarray(offset, offset + ATTACH_PACKET_BYTES));
      }
    },
    end() {
      if (!isClosed) socket.end();
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      socket.destroy();
    },
  };
}

/** Resizes the terminal of a container or exec session through conmon's `ctl` fifo in its bundle dir. */
export async function resizeConmonTerminal(
  bundleDir: string,
  size: { height: number; width: number },
): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // Non-blocking: with no conmon reading the fifo, open fails (ENXIO) instead of hanging.
    handle = await open(join(bundleDir, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT')
      throw new NotFoundError(`no terminal to resize in ${bundleDir}`, { cause: e });
    throw e;
  }
  try {
    await handle.write(`1 ${size.height} ${size.width}\n`);
  } finally {
    await handle.close();
  }
}
