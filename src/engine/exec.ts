import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidArgumentError, NotFoundError, parseDetachKeys } from '../api/index.js';
import type { ContainerRecord } from './container-store.js';
import type { ContainerService } from './containers.js';
import type { EventSink } from './events.js';
import type { Logger } from './logger.js';
import type { ContainerRuntime, LogLine, ReadLogOptions, StdinPipe, TerminalSize } from './runtime/index.js';

/** Docker's exec config (`POST /containers/{id}/exec`), as the engine keeps it. */
export interface ExecConfig {
  Cmd: string[];
  Env: string[];
  WorkingDir: string;
  User: string;
  Privileged: boolean;
  Tty: boolean;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  DetachKeys: string;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  isRunning: boolean;
  /** null until the process has run and exited. */
  exitCode: number | null;
  pid: number;
  /** Started once: a second start is refused, as Docker refuses it. */
  hasStarted: boolean;
}

/** A started exec, as the hijacked connection serves it. */
export interface ExecSession {
  /** The process's output until it exits (empty for a detached start). */
  output: AsyncIterable<LogLine>;
  /** Its stdin when the exec asked for it. */
  stdin: StdinPipe | undefined;
  exited: Promise<number>;
}

export interface ExecDeps {
  containers: Pick<ContainerService, 'get'>;
  runtime: Pick<ContainerRuntime, 'exec' | 'openStdin' | 'resize' | 'removeExec'>;
  events: EventSink;
  log: Logger;
  readLog: (path: string, opts: ReadLogOptions) => AsyncIterable<LogLine>;
}

function isContainerRunning(record: ContainerRecord): boolean {
  return record.state.status === 'running' || record.state.status === 'restarting';
}

/**
 * Exec sessions: create (config checked, container running) -> start (its own conmon,
 * once) -> exit (code recorded, `exec_die`). Records live until their container is
 * removed. Unknown ids give NotFoundError(`No such exec instance: ID`).
 */
export class ExecService {
  private readonly records = new Map<string, ExecRecord>();

  constructor(private readonly deps: ExecDeps) {}

  create(containerRef: string, config: ExecConfig): string {
    const container = this.deps.containers.get(containerRef);
    if (config.Cmd.length === 0) throw new InvalidArgumentError('No exec command specified');
    if (config.DetachKeys !== '') {
      try {
        parseDetachKeys(config.DetachKeys);
      } catch {
        throw new InvalidArgumentError(`Invalid escape keys (${config.DetachKeys}) provided`);
      }
    }
    this.checkRunning(container);
    const id = randomBytes(32).toString('hex');
    this.records.set(id, {
      id,
      containerId: container.id,
      config,
      isRunning: false,
      exitCode: null,
      pid: 0,
      hasStarted: false,
    });
    this.emit(container, `exec_create: ${config.Cmd.join(' ')}`, { execID: id });
    return id;
  }

  get(id: string): ExecRecord {
    const record = this.records.get(id);
    if (!record) throw new NotFoundError(`No such exec instance: ${id}`);
    return record;
  }

  /** Ids of the container's running execs, for its inspect (`ExecIDs`). */
  idsOf(containerId: string): string[] {
    return [...this.records.values()]
      .filter((r) => r.containerId === containerId && r.isRunning)
      .map((r) => r.id);
  }

  /**
   * Starts the process and resolves once it runs. The output ends when it exits; a
   * detached start has none. `signal` ends the output early (the client went away).
   */
  async start(id: string, opts: { detach: boolean; signal: AbortSignal }): Promise<ExecSession> {
    const record = this.get(id);
    if (record.isRunning) throw new ConflictError(`Error: Exec command ${id} is already running`);
    if (record.hasStarted) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const container = this.deps.containers.get(record.containerId);
    this.checkRunning(container);
    record.hasStarted = true;
    const { config } = record;
    const wantsStdin = config.AttachStdin && !opts.detach;
    let process: Awaited<ReturnType<ContainerRuntime['exec']>>;
    try {
      process = await this.deps.runtime.exec({
        containerId: container.id,
        execId: id,
        args: config.Cmd,
        env: config.Env,
        cwd: config.WorkingDir,
        user: config.User,
        terminal: config.Tty,
        privileged: config.Privileged,
        stdin: wantsStdin,
      });
    } catch (e) {
      // Docker records a command that could not run with the shell's codes.
      const message = e instanceof Error ? e.message : String(e);
      record.exitCode = /permission denied/.test(message)
        ? 126
        : /not found|no such file/.test(message)
          ? 127
          : 126;
      throw e;
    }
    record.isRunning = true;
    record.pid = process.pid;
    this.emit(container, `exec_start: ${config.Cmd.join(' ')}`, { execID: id });
    const done = new AbortController();
    let isOutputRead = opts.detach;
    const exited = process.exited.then((code) => {
      record.isRunning = false;
      record.exitCode = code;
      record.pid = 0;
      done.abort();
      this.emit(container, 'exec_die', { execID: id, exitCode: String(code) });
      if (isOutputRead) this.removeFiles(id);
      return code;
    });
    const stdin = wantsStdin ? await this.deps.runtime.openStdin(id).catch(() => undefined) : undefined;
    if (opts.detach) return { output: emptyOutput(), stdin, exited };
    const lines = this.deps.readLog(process.logPath, {
      follow: true,
      signal: opts.signal,
      done: done.signal,
    });
    const output = this.trackOutput(lines, exited, opts.signal, () => {
      isOutputRead = true;
      if (!record.isRunning) this.removeFiles(id);
    });
    return { output, stdin, exited };
  }

  async resize(id: string, size: TerminalSize): Promise<void> {
    const record = this.get(id);
    if (!record.isRunning || !record.config.Tty) return;
    await this.deps.runtime.resize(id, size);
  }

  /** Forgets the execs of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, record] of this.records) if (record.containerId === containerId) this.records.delete(id);
  }

  private checkRunning(container: ContainerRecord): void {
    if (container.state.status === 'paused') {
      throw new ConflictError(`container ${container.id} is paused, unpause the container before exec`);
    }
    if (!isContainerRunning(container)) throw new ConflictError(`container ${container.id} is not running`);
  }

  /** Yields the output, then waits for the recorded exit so a client that inspects next sees it. */
  private async *trackOutput(
    lines: AsyncIterable<LogLine>,
    exited: Promise<number>,
    signal: AbortSignal,
    onDone: () => void,
  ): AsyncIterable<LogLine> {
    try {
      yield* lines;
      if (!signal.aborted) await exited;
    } finally {
      onDone();
    }
  }

  private removeFiles(id: string): void {
    this.deps.runtime
      .removeExec(id)
      .catch((e: unknown) => this.deps.log.warn({ err: e, id }, 'removing exec files failed'));
  }

  private emit(container: ContainerRecord, action: string, extra: Record<string, string>): void {
    this.deps.events({
      type: 'container',
      action,
      id: container.id,
      attributes: {
        ...(container.config.Labels ?? {}),
        image: container.imageRef,
        name: container.name.slice(1),
        ...extra,
      },
    });
  }
}

async function* emptyOutput(): AsyncIterable<LogLine> {}
