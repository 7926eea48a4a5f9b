import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, InvalidArgumentError, messageOf, NotFoundError } from '../../api/index.js';
import {
  ConmonCreateError,
  createRunc,
  liveProcess,
  openAttachSocket,
  type Runc,
  resizeConmonTerminal,
  resolveExecutable,
  runcErrorMessage,
  spawnConmon,
} from '../../platform/index.js';
import { replaceFile, writeJsonAtomic } from '../../store/index.js';
import { removeExec, runExec } from './conmon-exec.js';
import { ExitWatcher } from './exits.js';
import { signalNumber } from './signals.js';
import type {
  ContainerRuntime,
  CreateOptions,
  ExecProcess,
  ExecProcessOptions,
  ExitRecord,
  RuncState,
  RuntimeOptions,
  StdinPipe,
  TerminalSize,
} from './types.js';

/** Where the runtime keeps its state under the exec root. */
interface Layout {
  runcRoot: string;
  exitDir: string;
  /** `<conmonRoot>/<id>`: conmon's pidfiles, its stderr, its persist dir (`exit`, `oom`). */
  conmonRoot: string;
  /** Shared and short: the attach socket path must fit in 108 bytes. */
  attachDir: string;
  /** `<execsDir>/<execId>`: one exec session's conmon bundle, log and pid. */
  execsDir: string;
}

function layoutOf(execRoot: string): Layout {
  return {
    runcRoot: join(execRoot, 'runc'),
    exitDir: join(execRoot, 'exits'),
    conmonRoot: join(execRoot, 'conmon'),
    attachDir: join(execRoot, 'attach'),
    execsDir: join(execRoot, 'execs'),
  };
}

/** Ids become file names in several directories and runc's own state dir. */
function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id))
    throw new InvalidArgumentError(`invalid container id: ${id}`);
}

/** Files conmon leaves in the bundle; a re-create in the same bundle must not find old ones. */
const CONMON_BUNDLE_FILES = ['attach', 'ctl', 'winsz'];
/** How long delete waits for conmon to record the exit of a container runc just killed. */
const CONMON_EXIT_TIMEOUT_MS = 10_000;
const CONMON_EXIT_POLL_MS = 20;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A live conmon with that pid; a zombie or a reused pid of another program does not count. */
async function isConmonAlive(pid: number): Promise<boolean> {
  return (await liveProcess(pid))?.command === 'conmon';
}

/** runc's create failures in Docker's terms: a missing or unrunnable program is the caller's mistake. */
function createError(id: string, e: ConmonCreateError): Error {
  const message = `OCI runtime create failed: ${runcErrorMessage(e.runtimeMessage)}`;
  if (/executable file not found|no such file or directory|permission denied/.test(message)) {
    return new InvalidArgumentError(message, { cause: e });
  }
  return new BerthError(`${id}: ${message}`, { cause: e });
}

class ConmonRuntime implements ContainerRuntime {
  constructor(
    private readonly layout: Layout,
    private readonly runc: Runc,
    private readonly runtimePath: string,
    private readonly conmonBinary: string,
    private readonly exits: ExitWatcher,
  ) {}

  private conmonDir(id: string): string {
    return join(this.layout.conmonRoot, id);
  }

  async create(opts: CreateOptions): Promise<{ pid: number }> {
    checkId(opts.id);
    const dir = this.conmonDir(opts.id);
    // Leftovers of an earlier run go first; none of these steps depends on another.
    await Promise.all([
      this.removeExitRecord(opts.id),
      rm(dir, { recursive: true, force: true }).then(() => mkdir(dir, { recursive: true, mode: 0o700 })),
      ...CONMON_BUNDLE_FILES.map((name) => rm(join(opts.bundleDir, name), { force: true })),
      rm(join(this.layout.attachDir, opts.id), { force: true }),
      // Rewritten from the record on every start and read by runc at once: no flush needed.
      replaceFile(join(opts.bundleDir, 'config.json'), JSON.stringify(opts.spec)),
    ]);
    const processSpec = opts.spec.process as { terminal?: boolean } | undefined;
    try {
      const pid = await spawnConmon({
        binary: this.conmonBinary,
        runtimePath: this.runtimePath,
        runtimeArgs: [`--root=${this.layout.runcRoot}`],
        id: opts.id,
        bundleDir: opts.bundleDir,
        containerPidFile: join(dir, 'pid'),
        conmonPidFile: join(dir, 'conmon.pid'),
        exitDir: this.layout.exitDir,
        persistDir: dir,
        socketDir: this.layout.attachDir,
        logPath: opts.logPath,
        diagnosticsPath: join(dir, 'conmon.stderr'),
        stdin: opts.stdin ?? false,
        leaveStdinOpen: opts.leaveStdinOpen ?? false,
        terminal: processSpec?.terminal ?? false,
      });
      return { pid };
    } catch (e) {
      const error = e instanceof ConmonCreateError ? createError(opts.id, e) : e;
      // The create failure is what the caller must see; a failed cleanup is reported, not thrown over it.
      await this.delete(opts.id, { force: true }).catch((cleanupError: unknown) =>
        process.emitWarning(`cleanup after failed create of ${opts.id}: ${messageOf(cleanupError)}`),
      );
      throw error;
    }
  }

  async start(id: string): Promise<void> {
    await this.runc.start(id);
  }

  async kill(id: string, signal: string | number, opts: { all?: boolean } = {}): Promise<void> {
    await this.runc.kill(id, String(signalNumber(signal)), opts);
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    // Without a state dir runc knows no such container: spare the process (removal after an exit).
    if (await exists(join(this.layout.runcRoot, id))) {
      try {
        await this.runc.delete(id, opts);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    // Otherwise conmon could write the exit file of a force-killed container after we removed it.
    await this.waitForConmon(id);
    await this.removeExitRecord(id);
    await rm(this.conmonDir(id), { recursive: true, force: true });
    await rm(join(this.layout.attachDir, id), { force: true });
  }

  async pause(id: string): Promise<void> {
    await this.runc.pause(id);
  }

  async resume(id: string): Promise<void> {
    await this.runc.resume(id);
  }

  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    checkId(id);
    // runc reads the resources from a file; conmon's directory is ours and per container.
    const file = join(this.conmonDir(id), 'resources.json');
    await writeJsonAtomic(file, resources);
    try {
      await this.runc.update(id, file);
    } finally {
      await rm(file, { force: true });
    }
  }

  async openStdin(id: string): Promise<StdinPipe> {
    checkId(id);
    return openAttachSocket(this.layout.attachDir, id);
  }

  async resize(id: string, size: TerminalSize): Promise<void> {
    checkId(id);
    // conmon links `<attachDir>/<id>` to the bundle, where its ctl fifo is.
    await resizeConmonTerminal(join(this.layout.attachDir, id), size);
  }

  async exec(opts: ExecProcessOptions): Promise<ExecProcess> {
    checkId(opts.containerId);
    checkId(opts.execId);
    return runExec(this.layout, { binary: this.conmonBinary, runtimePath: this.runtimePath }, opts);
  }

  async removeExec(execId: string): Promise<void> {
    checkId(execId);
    await removeExec(this.layout, execId);
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.layout.runcRoot, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  async state(id: string): Promise<RuncState | undefined> {
    try {
      const { status, pid } = await this.runc.state(id);
      return { status, pid };
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  async readExit(id: string): Promise<ExitRecord | undefined> {
    checkId(id);
    const path = join(this.layout.exitDir, id);
    const text = (await readIfExists(path))?.trim();
    // glib writes the file whole and renames it into place, so empty means not there yet.
    if (text === undefined || text === '') return undefined;
    if (!/^-?\d+$/.test(text)) throw new BerthError(`unreadable exit file ${path}: ${JSON.stringify(text)}`);
    const [{ mtime }, oomKilled] = await Promise.all([stat(path), exists(join(this.conmonDir(id), 'oom'))]);
    return { exitCode: Number(text), finishedAt: mtime, oomKilled };
  }

  onExit(listener: (id: string) => void): () => void {
    return this.exits.onExit(listener);
  }

  async close(): Promise<void> {
    this.exits.close();
  }

  private async removeExitRecord(id: string): Promise<void> {
    await rm(join(this.layout.exitDir, id), { force: true });
    this.exits.forget(id);
  }

  private async waitForConmon(id: string): Promise<void> {
    const text = await readIfExists(join(this.conmonDir(id), 'conmon.pid'));
    const pid = Number(text?.trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    const deadline = Date.now() + CONMON_EXIT_TIMEOUT_MS;
    // conmon is normally gone within a few ms of its container: poll fast, then back off.
    let pollMs = 1;
    while (await isConmonAlive(pid)) {
      if (Date.now() > deadline)
        throw new BerthError(`conmon ${pid} of ${id} still running after its container`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      pollMs = Math.min(pollMs * 2, CONMON_EXIT_POLL_MS);
    }
  }
}

/**
 * The conmon + runc runtime: runc state in `<execRoot>/runc`, exit files in
 * `<execRoot>/exits`, conmon's per-container files in `<execRoot>/conmon/<id>`.
 * Another runtime on the same exec root (after a daemon restart) sees the same containers.
 */
export async function createRuntime(opts: RuntimeOptions): Promise<ContainerRuntime> {
  const layout = layoutOf(opts.execRoot);
  for (const dir of Object.values(layout)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const runtimePath = await resolveExecutable(opts.runtime || 'runc');
  const conmonBinary = await resolveExecutable(opts.conmon ?? 'conmon');
  const exits = await ExitWatcher.start(layout.exitDir, (name) => exists(join(layout.conmonRoot, name)));
  return new ConmonRuntime(
    layout,
    createRunc({ binary: runtimePath, root: layout.runcRoot }),
    runtimePath,
    conmonBinary,
    exits,
  );
}
