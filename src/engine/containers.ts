import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type { ContainerCreateRequest, ContainerStatus, HostConfig } from '../api/index.js';
import {
  ConflictError,
  InvalidArgumentError,
  messageOf,
  NotFoundError,
  NotModifiedError,
} from '../api/index.js';
import { commandLine, mergeImageConfig } from './container-config.js';
import { etcFilesOf, writeEtcFiles } from './container-files.js';
import { type ContainerRecord, type ContainerStore, ZERO_TIME } from './container-store.js';
import type { EventSink } from './events.js';
import type { ImageService, RootfsService } from './image/index.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Logger } from './logger.js';
import { generateContainerName, normalizeContainerName } from './names.js';
import type { NetworkService } from './network/index.js';
import type { ContainerRuntime, LogLine, OciSpec, ReadLogOptions, SpecOptions } from './runtime/index.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ContainerDeps {
  store: ContainerStore;
  images: Pick<ImageService, 'resolve'>;
  rootfs: RootfsService;
  runtime: ContainerRuntime;
  network: NetworkService;
  events: EventSink;
  log: Logger;
  /** cgroupfs parent of every container's cgroup, e.g. `/berth`. */
  cgroupParent: string;
  buildSpec: (opts: SpecOptions) => Promise<OciSpec>;
  readLog: (path: string, opts: ReadLogOptions) => AsyncIterable<LogLine>;
}

export interface LogsOptions {
  follow?: boolean;
  sinceSeconds?: number;
  untilSeconds?: number;
  tail?: number;
  signal?: AbortSignal;
}

interface Waiter {
  condition: WaitCondition;
  resolve: (exitCode: number) => void;
}

const DEFAULT_STOP_TIMEOUT_S = 10;
// How long an auto-removed container waits for attached readers to drain its log.
const ATTACH_DRAIN_TIMEOUT_MS = 5_000;

/**
 * Containers on this host: create -> start -> (exit) -> remove, persisted so that a
 * restarted daemon finds every container, adopting those whose process still runs.
 * References are a full id, a unique id prefix or a name; unknown ones give
 * NotFoundError(`No such container: REF`).
 */
export class ContainerService {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly lock = new KeyedMutex();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly attachDrains = new Map<string, Set<Promise<void>>>();
  private stopWatchingExits: (() => void) | undefined;

  constructor(private readonly deps: ContainerDeps) {}

  /** Loads every record and reconciles it with what runs: adopts live containers, records exits missed while down. */
  async restore(): Promise<void> {
    this.stopWatchingExits = this.deps.runtime.onExit((id) => {
      this.onExit(id).catch((e) => this.deps.log.error({ err: e, id }, 'handling container exit failed'));
    });
    const { records, unfinished } = await this.deps.store.loadAll();
    for (const id of unfinished) {
      this.deps.log.warn({ id }, 'removing a container whose create never finished');
      await this.deps.rootfs.remove(id).catch(() => undefined);
      await this.deps.store.remove(id);
    }
    for (const record of records) {
      this.records.set(record.id, record);
      if (record.state.status !== 'running' && record.state.status !== 'paused') continue;
      const state = await this.deps.runtime.state(record.id).catch(() => undefined);
      if (state && (state.status === 'running' || state.status === 'paused')) {
        if (record.network) this.deps.network.adopt(record.id, record.network);
        this.deps.log.info({ id: record.id }, 'adopted running container');
      } else {
        await this.lock.run(record.id, () => this.recordExit(record));
      }
    }
  }

  close(): void {
    this.stopWatchingExits?.();
  }

  list(): ContainerRecord[] {
    return [...this.records.values()].sort((a, b) => b.created.localeCompare(a.created));
  }

  get(ref: string): ContainerRecord {
    const byId = this.records.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    for (const record of this.records.values()) if (record.name === name) return record;
    const matches = ref.length > 0 ? [...this.records.values()].filter((r) => r.id.startsWith(ref)) : [];
    if (matches.length === 1 && matches[0]) return matches[0];
    if (matches.length > 1) throw new InvalidArgumentError(`multiple IDs found with provided prefix: ${ref}`);
    throw new NotFoundError(`No such container: ${ref}`);
  }

  /** The id of a container made from the image, if any (images may not be removed under it). */
  userOfImage(imageId: string): ContainerRecord | undefined {
    for (const record of this.records.values()) if (record.imageId === imageId) return record;
    return undefined;
  }

  isRunning(ref: string): boolean {
    return isRunning(this.get(ref).state.status);
  }

  logPathOf(record: ContainerRecord): string {
    return join(this.deps.store.dirOf(record.id), 'container.log');
  }

  etcFilesOf(record: ContainerRecord) {
    return etcFilesOf(this.deps.store.dirOf(record.id));
  }

  async create(
    request: ContainerCreateRequest,
    requestedName?: string,
  ): Promise<{ id: string; warnings: string[] }> {
    if (!request.Image)
      throw new InvalidArgumentError('config cannot be empty in order to create a container');
    const name = requestedName
      ? normalizeContainerName(requestedName)
      : generateContainerName((n) => this.isNameTaken(n));
    const holder = this.findByName(name);
    if (holder) {
      throw new ConflictError(
        `Conflict. The container name "${name}" is already in use by container "${holder.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const image = await this.deps.images.resolve(request.Image);
    const { HostConfig: hostConfig = {}, NetworkingConfig: _networking, ...config } = request;
    const effective = mergeImageConfig(config, image.config.config ?? {});
    const { path, args } = commandLine(effective);
    validateHostConfig(hostConfig);

    const id = randomBytes(32).toString('hex');
    const record: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      imageRef: request.Image,
      imageId: image.id,
      config: { ...effective, Image: request.Image },
      hostConfig: { NetworkMode: 'bridge', ...hostConfig },
      path,
      args,
      state: {
        status: 'created',
        pid: 0,
        exitCode: 0,
        error: '',
        oomKilled: false,
        startedAt: ZERO_TIME,
        finishedAt: ZERO_TIME,
      },
      restartCount: 0,
    };
    // The name is taken from here on, so a concurrent create with the same name conflicts.
    this.records.set(id, record);
    try {
      await this.deps.rootfs.create(id, image.id);
      await this.deps.store.save(record);
      // Readers (logs, an attach made before start) find an empty log rather than none.
      await writeFile(this.logPathOf(record), '', { flag: 'a', mode: 0o640 });
    } catch (e) {
      this.records.delete(id);
      await this.deps.rootfs.remove(id).catch(() => undefined);
      await this.deps.store.remove(id).catch(() => undefined);
      throw e;
    }
    this.emit(record, 'create');
    return { id, warnings: [] };
  }

  async start(ref: string): Promise<void> {
    const record = this.get(ref);
    await this.lock.run(record.id, async () => {
      if (record.state.status === 'running' || record.state.status === 'paused') {
        throw new NotModifiedError('container already started');
      }
      if (record.state.status === 'removing' || record.state.status === 'dead') {
        throw new ConflictError(`cannot start container ${record.id}: container is marked for removal`);
      }
      await this.launch(record);
    });
    this.emit(record, 'start');
  }

  private async launch(record: ContainerRecord): Promise<void> {
    const { id } = record;
    const bundleDir = this.deps.store.dirOf(id);
    const rootfsPath = join(bundleDir, 'rootfs');
    const mode = record.hostConfig.NetworkMode ?? 'bridge';
    try {
      await this.deps.rootfs.mount(id, rootfsPath);
      const attachment = await this.deps.network.attach(id, mode);
      record.network = attachment;
      const hostNetwork = attachment.namespace === 'host';
      const hostname = record.config.Hostname || (hostNetwork ? hostHostname() : id.slice(0, 12));
      const etc = etcFilesOf(bundleDir);
      await writeEtcFiles(etc, {
        hostname,
        ipAddress: attachment.ipAddress,
        hostConfig: record.hostConfig,
        hostNetwork,
      });
      const spec = await this.deps.buildSpec({
        rootfs: rootfsPath,
        readonlyRootfs: record.hostConfig.ReadonlyRootfs === true,
        args: [record.path, ...record.args],
        // buildSpec adds HOSTNAME and a default PATH, as Docker does.
        env: record.config.Env ?? [],
        cwd: record.config.WorkingDir ?? '',
        user: record.config.User ?? '',
        hostname,
        terminal: record.config.Tty === true,
        network: attachment.namespace,
        mounts: [
          { source: etc.hostsPath, destination: '/etc/hosts' },
          { source: etc.hostnamePath, destination: '/etc/hostname' },
          { source: etc.resolvConfPath, destination: '/etc/resolv.conf' },
        ],
        cgroupsPath: `${this.deps.cgroupParent}/${id}`,
        ...optional('resources', resourcesOf(record.hostConfig)),
        privileged: record.hostConfig.Privileged === true,
        capAdd: record.hostConfig.CapAdd ?? [],
        capDrop: record.hostConfig.CapDrop ?? [],
      });
      const { pid } = await this.deps.runtime.create({
        id,
        bundleDir,
        spec,
        logPath: this.logPathOf(record),
        stdin: record.config.OpenStdin === true,
      });
      const startedAt = new Date().toISOString();
      await this.deps.runtime.start(id);
      record.state = {
        ...record.state,
        status: 'running',
        pid,
        exitCode: 0,
        error: '',
        oomKilled: false,
        startedAt,
        finishedAt: ZERO_TIME,
      };
      await this.deps.store.save(record);
    } catch (e) {
      await this.deps.runtime.delete(id, { force: true }).catch(() => undefined);
      await this.deps.network.release(id).catch(() => undefined);
      await this.deps.rootfs.unmount(rootfsPath).catch(() => undefined);
      delete record.network;
      // Docker keeps a container that failed to start as created, with the error and 127/126.
      record.state = { ...record.state, error: messageOf(e), exitCode: exitCodeOfStartError(messageOf(e)) };
      await this.deps.store.save(record).catch(() => undefined);
      throw e;
    }
  }

  async stop(ref: string, opts: { timeoutSeconds?: number; signal?: string } = {}): Promise<void> {
    const record = this.get(ref);
    if (!isRunning(record.state.status)) throw new NotModifiedError('container already stopped');
    const signal = opts.signal || record.config.StopSignal || 'SIGTERM';
    const timeoutS = opts.timeoutSeconds ?? record.config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
    const exited = this.waitFor(record.id, 'not-running');
    if (timeoutS !== 0) {
      await this.signal(record, signal);
      if (timeoutS < 0 || (await withTimeout(exited, timeoutS * 1000))) {
        this.emit(record, 'stop');
        return;
      }
    }
    await this.signal(record, 'SIGKILL');
    await exited;
    this.emit(record, 'stop');
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const record = this.get(ref);
    if (!isRunning(record.state.status)) {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${record.id} is not running`);
    }
    await this.signal(record, signal);
  }

  private async signal(record: ContainerRecord, signal: string): Promise<void> {
    try {
      await this.deps.runtime.kill(record.id, signal);
    } catch (e) {
      // The process may have exited between our check and the signal.
      if (e instanceof NotFoundError || e instanceof ConflictError) return;
      throw e;
    }
    this.emit(record, 'kill', { signal: String(signal) });
  }

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const record = this.get(ref);
    if (isRunning(record.state.status)) {
      if (!opts.force) {
        throw new ConflictError(
          `cannot remove container "${record.name}": container is running: stop the container before removing or force remove`,
        );
      }
      const exited = this.waitFor(record.id, 'not-running');
      await this.signal(record, 'SIGKILL');
      await exited;
    }
    await this.lock.run(record.id, () => this.destroy(record));
  }

  private async destroy(record: ContainerRecord): Promise<void> {
    if (!this.records.has(record.id)) return;
    record.state.status = 'removing';
    await this.deps.runtime.delete(record.id, { force: true }).catch(() => undefined);
    await this.deps.network.release(record.id).catch(() => undefined);
    await this.deps.rootfs.unmount(join(this.deps.store.dirOf(record.id), 'rootfs')).catch(() => undefined);
    await this.deps.rootfs.remove(record.id);
    await this.deps.store.remove(record.id);
    this.records.delete(record.id);
    this.emit(record, 'destroy');
    this.settleWaiters(record.id, ['removed', 'not-running', 'next-exit'], record.state.exitCode);
  }

  /** Resolves with the exit code once the condition holds. */
  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<number> {
    const record = this.get(ref);
    if (condition === 'not-running' && !isRunning(record.state.status)) return record.state.exitCode;
    return this.waitFor(record.id, condition);
  }

  private waitFor(id: string, condition: WaitCondition): Promise<number> {
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ condition, resolve });
      this.waiters.set(id, list);
    });
  }

  private settleWaiters(id: string, conditions: WaitCondition[], exitCode: number): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const remaining = list.filter((w) => !conditions.includes(w.condition));
    for (const w of list) if (conditions.includes(w.condition)) w.resolve(exitCode);
    if (remaining.length > 0) this.waiters.set(id, remaining);
    else this.waiters.delete(id);
  }

  private async onExit(id: string): Promise<void> {
    const record = this.records.get(id);
    if (!record) return;
    await this.lock.run(id, async () => {
      if (!isRunning(record.state.status)) return;
      await this.recordExit(record);
    });
    if (record.hostConfig.AutoRemove && this.records.has(id)) {
      await withTimeout(Promise.all(this.attachDrains.get(id) ?? []), ATTACH_DRAIN_TIMEOUT_MS);
      await this.lock.run(id, () => this.destroy(record));
    }
  }

  /** Notes a finished process: its exit code, and frees what only a running container holds. */
  private async recordExit(record: ContainerRecord): Promise<void> {
    const exit = await this.deps.runtime.readExit(record.id).catch(() => undefined);
    await this.deps.runtime.delete(record.id, { force: true }).catch(() => undefined);
    await this.deps.network.release(record.id).catch(() => undefined);
    await this.deps.rootfs.unmount(join(this.deps.store.dirOf(record.id), 'rootfs')).catch(() => undefined);
    delete record.network;
    record.state = {
      ...record.state,
      status: 'exited',
      pid: 0,
      exitCode: exit?.exitCode ?? 255,
      oomKilled: exit?.oomKilled ?? false,
      error: exit ? '' : 'the container process was gone and left no exit status',
      // The exit file's time can trail our start stamp by the rename's granularity.
      finishedAt: new Date(
        Math.max((exit?.finishedAt ?? new Date()).getTime(), Date.parse(record.state.startedAt)),
      ).toISOString(),
    };
    await this.deps.store.save(record);
    this.emit(record, 'die', { exitCode: String(record.state.exitCode) });
    this.settleWaiters(record.id, ['not-running', 'next-exit'], record.state.exitCode);
  }

  /** The container's output so far, and with `follow` what comes until it stops. */
  logs(ref: string, opts: LogsOptions): AsyncIterable<LogLine> {
    const record = this.get(ref);
    const done = new AbortController();
    if (!isRunning(record.state.status)) done.abort();
    else void this.waitFor(record.id, 'not-running').then(() => done.abort());
    return this.deps.readLog(this.logPathOf(record), { ...opts, done: done.signal });
  }

  /**
   * Output from now until the container's next stop, for attach. The log file is the
   * source, so an attach never slows the container down. Clients attach before they
   * start a container (`run`, `start -a`), so the stream ends with the next exit.
   */
  attachOutput(ref: string, signal: AbortSignal): AsyncIterable<LogLine> {
    const record = this.get(ref);
    const done = new AbortController();
    void this.waitFor(record.id, 'next-exit').then(() => done.abort());
    const lines = this.deps.readLog(this.logPathOf(record), {
      follow: true,
      sinceSeconds: Date.now() / 1000,
      signal,
      done: done.signal,
    });
    return this.trackDrain(record.id, lines);
  }

  private async *trackDrain(id: string, lines: AsyncIterable<LogLine>): AsyncIterable<LogLine> {
    let finish: () => void = () => undefined;
    const drained = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const set = this.attachDrains.get(id) ?? new Set();
    set.add(drained);
    this.attachDrains.set(id, set);
    try {
      yield* lines;
    } finally {
      finish();
      set.delete(drained);
      if (set.size === 0) this.attachDrains.delete(id);
    }
  }

  private isNameTaken(name: string): boolean {
    return this.findByName(name) !== undefined;
  }

  private findByName(name: string): ContainerRecord | undefined {
    for (const record of this.records.values()) if (record.name === name) return record;
    return undefined;
  }

  private emit(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.deps.events({
      type: 'container',
      action,
      id: record.id,
      attributes: {
        ...(record.config.Labels ?? {}),
        image: record.imageRef,
        name: record.name.slice(1),
        ...extra,
      },
    });
  }
}

/** `{ key: value }` when value is defined, else `{}`: optional fields under exactOptionalPropertyTypes. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function isRunning(status: ContainerStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'restarting';
}

/** Resolves true when `promise` settles first, false on timeout. */
async function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Docker's exit codes for a process that could not be started (`docker run` returns them).
function exitCodeOfStartError(message: string): number {
  if (/permission denied/i.test(message)) return 126;
  if (/not found|no such file/i.test(message)) return 127;
  return 128;
}

function validateHostConfig(hostConfig: HostConfig): void {
  const numeric: (keyof HostConfig)[] = ['Memory', 'NanoCpus', 'CpuShares'];
  for (const key of numeric) {
    const value = hostConfig[key];
    if (value !== undefined && value !== null && (typeof value !== 'number' || value < 0)) {
      throw new InvalidArgumentError(`invalid ${key}: must be a non-negative number`);
    }
  }
  if (typeof hostConfig.Memory === 'number' && hostConfig.Memory > 0 && hostConfig.Memory < 6 * 1024 * 1024) {
    throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  }
}

/** OCI linux.resources from Docker's HostConfig limits. */
function resourcesOf(hostConfig: HostConfig): Record<string, unknown> | undefined {
  const resources: Record<string, unknown> = {};
  if (hostConfig.Memory) resources.memory = { limit: hostConfig.Memory };
  const cpu: Record<string, number> = {};
  if (hostConfig.CpuShares) cpu.shares = hostConfig.CpuShares;
  if (hostConfig.NanoCpus) {
    cpu.period = 100_000;
    cpu.quota = Math.round((hostConfig.NanoCpus * 100_000) / 1e9);
  }
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;
  if (typeof hostConfig.PidsLimit === 'number' && hostConfig.PidsLimit > 0) {
    resources.pids = { limit: hostConfig.PidsLimit };
  }
  return Object.keys(resources).length > 0 ? resources : undefined;
}
