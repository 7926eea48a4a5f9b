import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import type { ContainerCreateRequest, ContainerStatus, HostConfig } from '../api/index.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  messageOf,
  NotFoundError,
  NotModifiedError,
} from '../api/index.js';
import { commandLine, mergeImageConfig } from './container-config.js';
import { etcFilesOf, writeEtcFiles } from './container-files.js';
import { checkDevicesExist, isolationOf, requireRunning, validateIsolation } from './container-isolation.js';
import {
  attachNetwork,
  checkNetworkRequest,
  endpointRequestsOf,
  type NetworkContext,
} from './container-network.js';
import { type ContainerRecord, type ContainerStore, ZERO_TIME } from './container-store.js';
import type { EventSink } from './events.js';
import { HealthMonitor, probeArgs, validateHealthcheck } from './health.js';
import { resourcesOf, UPDATABLE_FIELDS, validateResources } from './host-config.js';
import type { ImageService, RootfsService } from './image/index.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Logger } from './logger.js';
import { generateContainerName, normalizeContainerName } from './names.js';
import type { EndpointRequest, NetworkService } from './network/index.js';
import { PhaseTimer } from './phase-timer.js';
import {
  nextRestartDelayMs,
  restartsWithDaemon,
  shouldRestart,
  validateRestartPolicy,
} from './restart-policy.js';
import type { ContainerRuntime, LogLine, OciSpec, ReadLogOptions, SpecOptions } from './runtime/index.js';
import type { MountObject, MountPlanner } from './volume/index.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ContainerDeps {
  store: ContainerStore;
  images: Pick<ImageService, 'resolve'>;
  rootfs: RootfsService;
  runtime: ContainerRuntime;
  network: NetworkService;
  /** Volumes, binds and tmpfs mounts: planned at create, mounted at start, released at remove. */
  mounts: MountPlanner;
  events: EventSink;
  log: Logger;
  /** cgroupfs parent of every container's cgroup, e.g. `/berth`. */
  cgroupParent: string;
  /** The daemon's hard rlimits: a container cannot be given more (no CAP_SYS_RESOURCE). */
  hostHardLimits: Record<string, number>;
  /** A static init for `--init` (tini-static), bind-mounted as /sbin/docker-init. */
  initBinary: string;
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
// Where Docker puts the `--init` binary inside the container.
const INIT_PATH = '/sbin/docker-init';
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
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly restartDelaysMs = new Map<string, number>();
  private stopWatchingExits: (() => void) | undefined;

  private readonly health: HealthMonitor;
  private readonly beforeRemoveHooks: ((id: string) => Promise<void>)[] = [];

  constructor(private readonly deps: ContainerDeps) {
    this.health = new HealthMonitor({
      runtime: deps.runtime,
      readLog: deps.readLog,
      stateOf: (id) => {
        const record = this.records.get(id);
        return record && isRunning(record.state.status) ? record.state.health : undefined;
      },
      onResult: (id, state, changed) => {
        const record = this.records.get(id);
        if (!record) return;
        record.state.health = state;
        if (!changed) return;
        this.emit(record, `health_status: ${state.Status}`);
        this.deps.store
          .save(record)
          .catch((e) => this.deps.log.error({ err: e, id }, 'saving health failed'));
      },
      onError: (id, e) => this.deps.log.warn({ err: e, id }, 'health probe failed'),
    });
  }

  /** Work that must finish before a container's files go, e.g. operations still reading them. */
  onBeforeRemove(hook: (id: string) => Promise<void>): void {
    this.beforeRemoveHooks.push(hook);
  }

  /** Probes the container's health while it runs, when it has a check. */
  private watchHealth(record: ContainerRecord): void {
    const health = record.config.Healthcheck;
    if (!health || !probeArgs(health)) return;
    this.health.start({ id: record.id, health, startedAt: record.state.startedAt });
  }

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
    const knownToRuntime = new Set(await this.deps.runtime.list());
    for (const record of records) {
      this.records.set(record.id, record);
      this.deps.mounts.restore(record.id, record.mounts ?? [], false);
      if (record.state.status !== 'running' && record.state.status !== 'paused') {
        // A start the daemon died in the middle of (its record never said "running"): its
        // caller never heard of success, so the process is stopped and its resources freed.
        if (knownToRuntime.has(record.id)) await this.lock.run(record.id, () => this.recordExit(record));
        continue;
      }
      const state = await this.deps.runtime.state(record.id).catch(() => undefined);
      if (state && (state.status === 'running' || state.status === 'paused')) {
        if (record.network) this.deps.network.adopt(record.id, record.network);
        this.deps.mounts.restore(record.id, record.mounts ?? [], true);
        this.watchHealth(record);
        this.deps.log.info({ id: record.id }, 'adopted running container');
      } else {
        await this.lock.run(record.id, () => this.recordExit(record));
        await this.afterExit(record);
      }
    }
    for (const record of records) {
      if (record.state.status !== 'exited' || record.state.startedAt === ZERO_TIME) continue;
      if (!restartsWithDaemon(record.hostConfig.RestartPolicy, record.manuallyStopped === true)) continue;
      this.start(record.id).catch((e) =>
        this.deps.log.error({ err: e, id: record.id }, 'restart at daemon start failed'),
      );
    }
  }

  close(): void {
    this.stopWatchingExits?.();
    this.health.stopAll();
    for (const timer of this.restartTimers.values()) clearTimeout(timer);
    this.restartTimers.clear();
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
    const { HostConfig: hostConfig = {}, NetworkingConfig: networking, ...config } = request;
    const endpointsConfig = endpointRequestsOf(networking?.EndpointsConfig);
    checkNetworkRequest(this.networkContext(), hostConfig, endpointsConfig);
    const effective = mergeImageConfig(config, image.config.config ?? {});
    const { path, args } = commandLine(effective);
    validateResources(hostConfig, this.deps.hostHardLimits);
    validateRestartPolicy(hostConfig.RestartPolicy, hostConfig.AutoRemove === true);
    // `container:X` modes need X to exist now and to run when this one starts.
    validateIsolation(hostConfig, (ref) => this.get(ref).id);
    await checkDevicesExist(hostConfig);
    validateHealthcheck(request.Healthcheck);

    const id = randomBytes(32).toString('hex');
    const record: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      imageRef: request.Image,
      imageId: image.id,
      config: { ...effective, Image: request.Image },
      hostConfig: { NetworkMode: 'bridge', ...hostConfig },
      ...(Object.keys(endpointsConfig).length > 0 ? { endpointsConfig } : {}),
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
      record.mounts = await this.deps.mounts.plan({
        containerId: id,
        binds: hostConfig.Binds,
        mounts: hostConfig.Mounts as MountObject[] | null | undefined,
        tmpfs: hostConfig.Tmpfs as Record<string, string> | null | undefined,
        volumesFrom: hostConfig.VolumesFrom as string[] | null | undefined,
        imageVolumes: effective.Volumes,
        mountsOf: (ref) => this.get(ref).mounts ?? [],
      });
      await this.deps.rootfs.create(id, image.id);
      await this.deps.store.save(record);
      // Readers (logs, an attach made before start) find an empty log rather than none.
      await writeFile(this.logPathOf(record), '', { flag: 'a', mode: 0o640 });
    } catch (e) {
      this.records.delete(id);
      await this.deps.mounts
        .release(id, record.mounts ?? [], { removeAnonymous: true })
        .catch(() => undefined);
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
      this.cancelRestart(record);
      record.manuallyStopped = false;
      try {
        await this.launch(record);
      } catch (e) {
        // Docker removes an `--rm` container whose start failed: nothing would ever remove it.
        if (record.hostConfig.AutoRemove) await this.destroy(record, true).catch(() => undefined);
        throw e;
      }
    });
    this.emit(record, 'start');
  }

  private async launch(record: ContainerRecord): Promise<void> {
    const { id } = record;
    const bundleDir = this.deps.store.dirOf(id);
    const rootfsPath = join(bundleDir, 'rootfs');
    const mode = record.hostConfig.NetworkMode ?? 'bridge';
    const timer = new PhaseTimer();
    const timed = timer.time.bind(timer);
    const etc = etcFilesOf(bundleDir);
    try {
      // Independent until the spec: the rootfs (then volumes into it) and the network (then
      // the etc files, which need its address). Both settle before any cleanup can run.
      const [rootfsBranch, networkBranch] = await Promise.allSettled([
        (async () => {
          await timed('snapshotMount', () => this.deps.rootfs.mount(id, rootfsPath));
          return timed('mounts', () => this.deps.mounts.prepare(id, record.mounts ?? [], rootfsPath));
        })(),
        (async () => {
          const {
            attachment,
            hostnameOfNamespace,
            linkHosts = [],
          } = await timed('network', () => attachNetwork(this.networkContext(), record, mode));
          record.network = attachment;
          const hostNetwork = attachment.namespace === 'host';
          const hostname =
            record.config.Hostname || hostnameOfNamespace || (hostNetwork ? hostHostname() : id.slice(0, 12));
          await timed('etcFiles', () =>
            writeEtcFiles(etc, {
              hostname,
              ipAddress: attachment.ipAddress,
              hostConfig:
                linkHosts.length === 0
                  ? record.hostConfig
                  : {
                      ...record.hostConfig,
                      ExtraHosts: [...(record.hostConfig.ExtraHosts ?? []), ...linkHosts],
                    },
              hostNetwork,
              ...(attachment.dnsServer === undefined ? {} : { dnsServer: attachment.dnsServer }),
              ...(attachment.hostGateway === undefined ? {} : { hostGateway: attachment.hostGateway }),
            }),
          );
          return { attachment, hostname };
        })(),
      ]);
      if (rootfsBranch.status === 'rejected') throw rootfsBranch.reason;
      if (networkBranch.status === 'rejected') throw networkBranch.reason;
      const userMounts = rootfsBranch.value;
      const { attachment, hostname } = networkBranch.value;
      const spec = await timed('spec', () =>
        this.deps.buildSpec({
          rootfs: rootfsPath,
          readonlyRootfs: record.hostConfig.ReadonlyRootfs === true,
          // `--init`: a small init as PID 1 reaps zombies and forwards signals.
          args: record.hostConfig.Init
            ? [INIT_PATH, '--', record.path, ...record.args]
            : [record.path, ...record.args],
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
            ...(record.hostConfig.Init
              ? [{ source: this.deps.initBinary, destination: INIT_PATH, readonly: true }]
              : []),
            ...userMounts,
          ],
          cgroupsPath: `${this.deps.cgroupParent}/${id}`,
          ...optional('resources', resourcesOf(record.hostConfig)),
          privileged: record.hostConfig.Privileged === true,
          capAdd: record.hostConfig.CapAdd ?? [],
          capDrop: record.hostConfig.CapDrop ?? [],
          isolation: isolationOf(record.hostConfig, (ref) => {
            const other = this.get(ref);
            requireRunning(other.state.status, ref, other.id);
            return other.state.pid;
          }),
        }),
      );
      const { pid } = await timed('conmonRuncCreate', () =>
        this.deps.runtime.create({
          id,
          bundleDir,
          spec,
          logPath: this.logPathOf(record),
          stdin: record.config.OpenStdin === true,
          // Docker closes stdin when the attached client goes only for `StdinOnce` without a TTY.
          leaveStdinOpen: record.config.Tty === true || record.config.StdinOnce !== true,
        }),
      );
      const startedAt = new Date().toISOString();
      record.state = {
        ...record.state,
        status: 'running',
        pid,
        exitCode: 0,
        error: '',
        oomKilled: false,
        startedAt,
        finishedAt: ZERO_TIME,
        ...(probeArgs(record.config.Healthcheck)
          ? { health: { Status: 'starting', FailingStreak: 0, Log: [] } }
          : {}),
      };
      // The record is saved while runc starts the process: a crash before the start is
      // over leaves a "running" record whose runc state is not running, which restore()
      // turns into an exit. Both settle before a failure is handled, so the failure's own
      // save is the last one.
      const [started, saved] = await Promise.allSettled([
        timed('runcStart', () => this.deps.runtime.start(id)),
        timed('saveRecord', () => this.deps.store.save(record)),
      ]);
      if (started.status === 'rejected') throw started.reason;
      if (saved.status === 'rejected') throw saved.reason;
      this.deps.log.debug({ id, phases: timer.phases }, 'container started');
      this.watchHealth(record);
    } catch (e) {
      await this.deps.runtime.delete(id, { force: true }).catch(() => undefined);
      await this.deps.network.release(id).catch(() => undefined);
      await this.deps.mounts.unprepare(id, record.mounts ?? []).catch(() => undefined);
      await this.deps.rootfs.unmount(rootfsPath).catch(() => undefined);
      delete record.network;
      // Docker keeps a container that failed to start as created, with the error and 127/126.
      record.state = { ...record.state, error: messageOf(e), exitCode: exitCodeOfStartError(messageOf(e)) };
      await this.deps.store.save(record).catch(() => undefined);
      // The run that attached streams and a `next-exit` wait were waiting for is over before it began.
      this.settleWaiters(id, ['next-exit'], record.state.exitCode);
      throw e;
    }
  }

  async stop(ref: string, opts: { timeoutSeconds?: number; signal?: string } = {}): Promise<void> {
    const record = this.get(ref);
    if (await this.stopRestarting(record)) return;
    if (!isRunning(record.state.status)) throw new NotModifiedError('container already stopped');
    await this.markManuallyStopped(record);
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
    if (record.state.status === 'restarting') {
      throw new ConflictError(
        `Cannot kill container: ${ref}: Container ${record.id} is restarting, wait until the container is running`,
      );
    }
    if (!isRunning(record.state.status)) {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${record.id} is not running`);
    }
    await this.markManuallyStopped(record);
    await this.signal(record, signal);
  }

  private async markManuallyStopped(record: ContainerRecord): Promise<void> {
    if (record.manuallyStopped) return;
    record.manuallyStopped = true;
    await this.deps.store.save(record);
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
    // Docker stops a paused container too: the signal is delivered once it thaws.
    if (record.state.status === 'paused') {
      await this.deps.runtime.resume(record.id).catch(() => undefined);
      record.state.status = 'running';
    }
  }

  /** `volumes` also removes the container's anonymous volumes (`rm -v`). */
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const record = this.get(ref);
    if (opts.force) await this.stopRestarting(record);
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
    await this.lock.run(record.id, () => this.destroy(record, opts.volumes === true));
  }

  private async destroy(record: ContainerRecord, removeAnonymousVolumes = false): Promise<void> {
    if (!this.records.has(record.id)) return;
    this.health.stop(record.id);
    record.state.status = 'removing';
    const timer = new PhaseTimer();
    // Mostly no-ops (an exit released all three already), each cheap when there is nothing to do.
    await timer.time('release', () =>
      Promise.all([
        this.deps.runtime.delete(record.id, { force: true }).catch(() => undefined),
        this.deps.network.release(record.id).catch(() => undefined),
        this.deps.rootfs.unmount(join(this.deps.store.dirOf(record.id), 'rootfs')).catch(() => undefined),
      ]),
    );
    for (const hook of this.beforeRemoveHooks) await hook(record.id);
    await timer.time('rootfsRemove', () => this.deps.rootfs.remove(record.id));
    await timer.time('recordRemove', () => this.deps.store.remove(record.id));
    this.records.delete(record.id);
    await timer.time('mountsRelease', () =>
      this.deps.mounts.release(record.id, record.mounts ?? [], {
        removeAnonymous: removeAnonymousVolumes,
      }),
    );
    this.deps.log.debug({ id: record.id, phases: timer.phases }, 'container removed');
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
    const exited = await this.lock.run(id, async () => {
      if (record.state.status !== 'running' && record.state.status !== 'paused') return false;
      await this.recordExit(record);
      return true;
    });
    if (exited) await this.afterExit(record);
  }

  /** What follows an exit: a restart by policy, removal for `--rm`, or nothing. */
  private async afterExit(record: ContainerRecord): Promise<void> {
    const { id } = record;
    const restart = shouldRestart(record.hostConfig.RestartPolicy, {
      exitCode: record.state.exitCode,
      restartCount: record.restartCount,
      manuallyStopped: record.manuallyStopped === true,
    });
    if (restart && this.records.has(id)) {
      await this.scheduleRestart(record);
      return;
    }
    if (record.hostConfig.AutoRemove && this.records.has(id)) {
      await withTimeout(Promise.all(this.attachDrains.get(id) ?? []), ATTACH_DRAIN_TIMEOUT_MS);
      // `--rm` takes the container's anonymous volumes with it, as Docker does.
      await this.lock.run(id, () => this.destroy(record, true));
    }
  }

  private async scheduleRestart(record: ContainerRecord): Promise<void> {
    const { id } = record;
    const ranMs = Date.parse(record.state.finishedAt) - Date.parse(record.state.startedAt);
    const delayMs = nextRestartDelayMs(this.restartDelaysMs.get(id), ranMs);
    this.restartDelaysMs.set(id, delayMs);
    record.state.status = 'restarting';
    await this.deps.store.save(record);
    const timer = setTimeout(() => {
      this.restartTimers.delete(id);
      this.lock
        .run(id, async () => {
          if (record.state.status !== 'restarting' || !this.records.has(id)) return;
          record.restartCount++;
          try {
            await this.launch(record);
          } catch (e) {
            record.state.status = 'exited';
            await this.deps.store.save(record);
            throw e;
          }
          this.emit(record, 'start');
        })
        .catch((e) => this.deps.log.error({ err: e, id }, 'restart by policy failed'));
    }, delayMs);
    this.restartTimers.set(id, timer);
  }

  private cancelRestart(record: ContainerRecord): boolean {
    const timer = this.restartTimers.get(record.id);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.restartTimers.delete(record.id);
    return true;
  }

  /** Stops a container waiting between restarts; true when it was one. */
  private async stopRestarting(record: ContainerRecord): Promise<boolean> {
    if (record.state.status !== 'restarting') return false;
    this.cancelRestart(record);
    record.manuallyStopped = true;
    record.state.status = 'exited';
    await this.deps.store.save(record);
    this.settleWaiters(record.id, ['not-running'], record.state.exitCode);
    this.emit(record, 'stop');
    return true;
  }

  async pause(ref: string): Promise<void> {
    const record = this.get(ref);
    await this.lock.run(record.id, async () => {
      if (record.state.status === 'paused')
        throw new ConflictError(`Container ${record.id} is already paused`);
      if (record.state.status !== 'running') throw new ConflictError(`Container ${record.id} is not running`);
      await this.deps.runtime.pause(record.id);
      record.state.status = 'paused';
      await this.deps.store.save(record);
    });
    this.emit(record, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const record = this.get(ref);
    await this.lock.run(record.id, async () => {
      if (record.state.status !== 'paused') throw new ConflictError(`Container ${record.id} is not paused`);
      await this.deps.runtime.resume(record.id);
      record.state.status = 'running';
      await this.deps.store.save(record);
    });
    this.emit(record, 'unpause');
  }

  async rename(ref: string, newName: string): Promise<void> {
    const record = this.get(ref);
    if (!newName) throw new InvalidArgumentError('Neither old nor new names may be empty');
    const name = normalizeContainerName(newName);
    if (name === record.name) {
      throw new InvalidArgumentError('Renaming a container with the same name as its current name');
    }
    const holder = this.findByName(name);
    if (holder) {
      throw new ConflictError(
        `Conflict. The container name "${name}" is already in use by container "${holder.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    const oldName = record.name;
    record.name = name;
    await this.deps.store.save(record);
    this.emit(record, 'rename', { oldName });
  }

  /** `docker update`: new limits (applied live to a running container) and restart policy. */
  async update(ref: string, changes: HostConfig): Promise<string[]> {
    const record = this.get(ref);
    await this.lock.run(record.id, async () => {
      const updated: Record<string, unknown> = { ...record.hostConfig };
      for (const key of UPDATABLE_FIELDS) {
        const value = changes[key];
        // Docker's CLI sends zeros for flags not given: they leave the setting as it is.
        if (value !== undefined && value !== null && value !== 0 && value !== '') updated[key] = value;
      }
      if (changes.RestartPolicy?.Name === '') delete updated.RestartPolicy;
      if (changes.RestartPolicy?.Name && record.hostConfig.AutoRemove) {
        throw new InvalidArgumentError(
          'Restart policy cannot be updated because AutoRemove is enabled for the container',
        );
      }
      const hostConfig = updated as HostConfig;
      validateResources(hostConfig, this.deps.hostHardLimits);
      validateRestartPolicy(hostConfig.RestartPolicy, false);
      if (isRunning(record.state.status) && record.state.status !== 'restarting') {
        await this.deps.runtime.update(record.id, resourcesOf(hostConfig) ?? {});
      }
      record.hostConfig = hostConfig;
      await this.deps.store.save(record);
    });
    this.emit(record, 'update');
    return [];
  }

  /** Removes stopped containers that `keep` does not hold back; returns their ids and freed bytes. */
  async prune(
    keep: (record: ContainerRecord) => boolean,
  ): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const record of this.list()) {
      if (isRunning(record.state.status) || keep(record)) continue;
      spaceReclaimed += await this.deps.rootfs.sizeRw(record.id).catch(() => 0);
      await this.remove(record.id);
      deleted.push(record.id);
    }
    this.deps.events({
      type: 'container',
      action: 'prune',
      id: '',
      attributes: { reclaimed: String(spaceReclaimed) },
    });
    return { deleted, spaceReclaimed };
  }

  /** Notes a finished process: its exit code, and frees what only a running container holds. */
  private async recordExit(record: ContainerRecord): Promise<void> {
    this.health.stop(record.id);
    const timer = new PhaseTimer();
    const exit = await timer.time('readExit', () =>
      this.deps.runtime.readExit(record.id).catch(() => undefined),
    );
    // The container's init is gone, and with it every process of its pid namespace: the
    // runtime's state, the network and the mounts are independent and go side by side.
    await Promise.all([
      timer.time('runtimeDelete', () =>
        this.deps.runtime.delete(record.id, { force: true }).catch(() => undefined),
      ),
      timer.time('network', () => this.deps.network.release(record.id).catch(() => undefined)),
      timer.time('unmount', async () => {
        // Volumes are mounted inside the rootfs: they go first.
        await this.deps.mounts
          .unprepare(record.id, record.mounts ?? [])
          .catch((e) => this.deps.log.warn({ err: e, id: record.id }, 'unmounting volumes failed'));
        await this.deps.rootfs
          .unmount(join(this.deps.store.dirOf(record.id), 'rootfs'))
          .catch(() => undefined);
      }),
    ]);
    this.deps.log.debug({ id: record.id, phases: timer.phases }, 'container exited');
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
    // An `--rm` container is removed next, and a crash before that finds it "running" with
    // no runc state, which restore() turns into this exit and the removal again: its
    // exited record would be written only to be deleted.
    if (!record.hostConfig.AutoRemove) await this.deps.store.save(record);
    if (record.state.oomKilled) this.emit(record, 'oom');
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

  /** `network connect`: at once on a running container, at its next start otherwise. */
  async connect(ref: string, network: string, endpoint: EndpointRequest): Promise<void> {
    const record = this.get(ref);
    const info = this.deps.network.inspectNetwork(network);
    await this.lock.run(record.id, async () => {
      if (record.network && isRunning(record.state.status)) {
        record.network = await this.deps.network.connect(record.network, {
          containerId: record.id,
          containerName: record.name.slice(1),
          network: info.name,
          endpoint,
        });
      } else if (
        record.endpointsConfig?.[info.name] !== undefined ||
        // A disconnect leaves an (empty) endpointsConfig behind: docker-compose 1.29
        // disconnects a created container from its network and connects it again with aliases.
        (record.hostConfig.NetworkMode === info.name && record.endpointsConfig === undefined)
      ) {
        throw new ForbiddenError(
          `endpoint with name ${record.name.slice(1)} already exists in network ${info.name}`,
        );
      }
      record.endpointsConfig = { ...(record.endpointsConfig ?? {}), [info.name]: endpoint };
      await this.deps.store.save(record);
    });
    this.deps.events({
      type: 'network',
      action: 'connect',
      id: info.id,
      attributes: { container: record.id, name: info.name },
    });
  }

  /** `network disconnect`: at once on a running container, and from its configuration. */
  async disconnect(ref: string, network: string): Promise<void> {
    const record = this.get(ref);
    const info = this.deps.network.inspectNetwork(network);
    await this.lock.run(record.id, async () => {
      if (record.network && isRunning(record.state.status)) {
        record.network = await this.deps.network.disconnect(record.network, {
          containerId: record.id,
          network: info.name,
        });
      }
      if (record.endpointsConfig) {
        const { [info.name]: _gone, ...rest } = record.endpointsConfig;
        record.endpointsConfig = rest;
      }
      await this.deps.store.save(record);
    });
    this.deps.events({
      type: 'network',
      action: 'disconnect',
      id: info.id,
      attributes: { container: record.id, name: info.name },
    });
  }

  private networkContext(): NetworkContext {
    return { network: this.deps.network, get: (ref) => this.get(ref) };
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
