import type { IsolationOptions } from './isolation.js';
/** What the engine asks of the OCI runtime layer (conmon + runc). */

/** An OCI runtime spec (config.json); see shared/reference/oci-runtime-spec-schema. */
export type OciSpec = Record<string, unknown> & { ociVersion: string };

/** Mount propagation of a bind, as Docker and the kernel name it. */
export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

/**
 * One mount of the container, as an OCI mount without the boilerplate: a bind by
 * default (recursive, rprivate), or a tmpfs. `options` adds mount(8) options
 * (`size=64m`, `mode=1777`, `nosuid` ...).
 */
export interface SpecMount {
  destination: string;
  /** Host path of a bind; ignored for tmpfs. */
  source: string;
  type?: 'bind' | 'tmpfs';
  readonly?: boolean;
  /** Binds only: 'rprivate' when omitted. */
  propagation?: Propagation;
  /** Binds only: a plain `bind` instead of `rbind`, so mounts below the source stay out. */
  nonRecursive?: boolean;
  options?: string[];
}

/** Kept for the callers that only bind files (/etc/hosts ...). */
export type BindMount = SpecMount;

/** Everything needed to turn a container's configuration into an OCI spec. */
export interface SpecOptions {
  /** Path of the mounted root filesystem (absolute, or relative to the bundle). */
  rootfs: string;
  readonlyRootfs?: boolean;
  /** argv of the process; never empty. */
  args: string[];
  env: string[];
  /** Working directory inside the container; '' means '/'. */
  cwd: string;
  /** Docker's `-u`: '', `name`, `uid`, `name:group`, `uid:gid`; names resolve through the rootfs' /etc/passwd and /etc/group. */
  user: string;
  hostname: string;
  terminal: boolean;
  /** 'host' shares the host's network namespace; a path joins that namespace; undefined makes a new empty one. */
  network: 'host' | { path: string } | undefined;
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf and the user's volumes, binds and tmpfs mounts. */
  mounts: SpecMount[];
  /** cgroupfs path, e.g. `/berth/<id>`. */
  cgroupsPath: string;
  /** OCI `linux.resources`, prepared by the caller. */
  resources?: Record<string, unknown>;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** Namespaces shared with the host or another container, limits, devices, seccomp. */
  isolation?: IsolationOptions;
}

export interface CreateOptions {
  id: string;
  /** Directory holding config.json; conmon runs with it as its working directory. */
  bundleDir: string;
  spec: OciSpec;
  /** Where conmon writes the container's output, k8s-file format. */
  logPath: string;
  /** Keep stdin open for attach (`-i`). */
  stdin?: boolean;
  /** An attached client that goes does not close stdin (Docker's `StdinOnce: false`, or a TTY). */
  leaveStdinOpen?: boolean;
}

/** The stdin of a running container or exec session (conmon's attach socket). */
export interface StdinPipe {
  write(data: Buffer): Promise<void>;
  /** Closes the process's stdin, unless it was created to stay open. */
  end(): void;
  /** Lets go without closing what `end` would (except for a once-only stdin). */
  close(): void;
}

/** A process to run in a running container, Docker's exec config resolved against it. */
export interface ExecProcessOptions {
  containerId: string;
  execId: string;
  args: string[];
  /** Added to the container's environment, replacing same-named variables. */
  env: string[];
  /** '' keeps the container's working directory. */
  cwd: string;
  /** '' keeps the container's user; otherwise resolved in the container's rootfs like `-u`. */
  user: string;
  terminal: boolean;
  privileged: boolean;
  stdin: boolean;
}

export interface ExecProcess {
  pid: number;
  /** k8s-file log of the process's output. */
  logPath: string;
  /** The exit code, 128+n for a signal. */
  exited: Promise<number>;
}

export interface TerminalSize {
  height: number;
  width: number;
}

export interface ExitRecord {
  exitCode: number;
  /** When the exit was noticed (the exit file's mtime). */
  finishedAt: Date;
  /** Killed by the kernel's OOM killer. */
  oomKilled: boolean;
}

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuncState {
  status: RuncStatus;
  pid: number;
}

/**
 * Containers under conmon + runc. Lifecycle: create (conmon spawned, `runc create`
 * done, pid known) -> start -> the process exits (conmon writes the exit file, exit
 * listeners hear of it) -> delete. Unknown ids give NotFoundError.
 */
export interface ContainerRuntime {
  /** Returns the container's pid. Throws with runc's own error text when create fails. */
  create(opts: CreateOptions): Promise<{ pid: number }>;
  start(id: string): Promise<void>;
  /** `signal` as a name (`TERM`, `SIGKILL`) or number; InvalidArgumentError for an unknown name. */
  kill(id: string, signal: string | number, opts?: { all?: boolean }): Promise<void>;
  /** Removes runc's state and the exit file; force kills a live container first. Idempotent. */
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  /** Freezes the container's processes; ConflictError when it is not running. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Applies new OCI `linux.resources` to a running container. */
  update(id: string, resources: Record<string, unknown>): Promise<void>;
  /** Connects to the stdin of a container or exec session by its id; NotFoundError when it is gone. */
  openStdin(id: string): Promise<StdinPipe>;
  /** Resizes the TTY of a container or exec session; NotFoundError when it has none running. */
  resize(id: string, size: TerminalSize): Promise<void>;
  /**
   * Runs a process in a running container under its own conmon; resolves once it runs.
   * InvalidArgumentError for an unknown user; BerthError with runc's text when it cannot start.
   */
  exec(opts: ExecProcessOptions): Promise<ExecProcess>;
  /** Removes an exec session's files once its process has exited and its output is read. */
  removeExec(execId: string): Promise<void>;
  /** Ids runc keeps state for: created, running, paused or stopped but not deleted. */
  list(): Promise<string[]>;
  /** undefined when runc does not know the container. */
  state(id: string): Promise<RuncState | undefined>;
  /** The recorded exit, once conmon has written it. */
  readExit(id: string): Promise<ExitRecord | undefined>;
  /** Calls `listener` with the id of each container whose exit is recorded from now on. */
  onExit(listener: (id: string) => void): () => void;
  /** Stops watching for exits (daemon shutdown); containers keep running. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** OCI runtime binary name or path: `runc` by default. */
  runtime: string;
  /** The daemon's exec root; the runtime uses runc/, exits/ and conmon/ under it. */
  execRoot: string;
  conmon?: string;
}

export interface LogLine {
  /** RFC 3339 in UTC with nanoseconds, as Docker prints it (`2026-01-02T03:04:05.123456789Z`). */
  time: string;
  stream: 'stdout' | 'stderr';
  /** The bytes, with their newline unless the line was partial. */
  content: Buffer;
}

export interface ReadLogOptions {
  follow?: boolean;
  /** Only lines at or after this many seconds since the epoch (fractions allowed). */
  sinceSeconds?: number;
  untilSeconds?: number;
  /** Only the last N lines (before following); undefined for all. */
  tail?: number;
  /** Following stops at once when `signal` aborts, and once the file is drained after `done` aborts. */
  signal?: AbortSignal;
  done?: AbortSignal;
}
