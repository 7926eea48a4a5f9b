/** What the engine asks of the OCI runtime layer (conmon + runc). */

/** An OCI runtime spec (config.json); see shared/reference/oci-runtime-spec-schema. */
export type OciSpec = Record<string, unknown> & { ociVersion: string };

export interface BindMount {
  source: string;
  destination: string;
  readonly?: boolean;
}

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
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf and the user's binds. */
  mounts: BindMount[];
  /** cgroupfs path, e.g. `/berth/<id>`. */
  cgroupsPath: string;
  /** OCI `linux.resources`, prepared by the caller. */
  resources?: Record<string, unknown>;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
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
  /** RFC 3339 with nanoseconds, as conmon wrote it. */
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
