import { constants } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../api/index.js';
import { BuildCache, Builder } from './build/index.js';
import { ContainerOps } from './container-ops/index.js';
import { ContainerStdio } from './container-stdio.js';
import { ContainerStore } from './container-store.js';
import { ContainerService } from './containers.js';
import { EventBus } from './events.js';
import { ExecService } from './exec.js';
import { parseHardLimits } from './host-config.js';
import { type ImageService, openImageStore, type RootfsService } from './image/index.js';
import type { Logger } from './logger.js';
import { type AddressPool, createNetworkService, type NetworkService } from './network/index.js';
import { createRegistryService, type RegistryService } from './registry/index.js';
import { buildSpec, type ContainerRuntime, createRuntime, readLog } from './runtime/index.js';
import { MountPlanner, VolumeService } from './volume/index.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  /** OCI runtime binary: runc by default. */
  runtime: string;
  bridgeName: string;
  bridgeCidr: string;
  nftTable: string;
  cgroupParent: string;
  netnsPrefix: string;
  /** Prefix of user-defined bridge devices (`br-` as Docker's). */
  bridgePrefix?: string;
  /** `--default-address-pool`: where networks without `--subnet` get theirs. */
  addressPools?: AddressPool[];
  /** Static init binary for `--init`; Debian's tini-static by default. */
  initBinary?: string;
  /** Registries spoken to in plain HTTP besides loopback ones (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** When given, the only registries the daemon contacts (`--allow-registry`). */
  allowedRegistries?: string[];
  /** dockerd's certs.d for registries' CAs and client certificates (`--certs-dir`). */
  registryCertsDir?: string;
  /** Docker Hub mirrors tried first for Docker Hub pulls (`--registry-mirror`). */
  registryMirrors?: string[];
  log: Logger;
}

/** The daemon's core, as server/ sees it. */
export interface Engine {
  readonly containers: ContainerService;
  readonly exec: ExecService;
  /** Attach's stdin and TTY resize. */
  readonly stdio: ContainerStdio;
  readonly images: ImageService;
  readonly rootfs: RootfsService;
  readonly registry: RegistryService;
  readonly volumes: VolumeService;
  /** stats, top, diff, export, commit and cp. */
  readonly containerOps: ContainerOps;
  /** `docker build` (classic builder) and its cache. */
  readonly build: { builder: Builder; cache: BuildCache };
  readonly networks: NetworkService;
  readonly events: EventBus;
  readonly options: Readonly<EngineOptions>;
  /** Stops watching; containers keep running (live restore). */
  close(opts?: { teardownNetwork?: boolean }): Promise<void>;
}

/** Opens every store under the data root and reconciles it with what still runs. */
export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { dataRoot, execRoot, log } = options;
  await mkdir(dataRoot, { recursive: true, mode: 0o711 });
  await mkdir(execRoot, { recursive: true, mode: 0o711 });
  const events = new EventBus();
  const { images, rootfs } = await openImageStore({ root: dataRoot, events: events.emit });
  const runtime: ContainerRuntime = await createRuntime({ runtime: options.runtime, execRoot });
  const network: NetworkService = createNetworkService({
    stateDir: join(dataRoot, 'network'),
    bridgeName: options.bridgeName,
    bridgeCidr: options.bridgeCidr,
    nftTable: options.nftTable,
    netnsPrefix: options.netnsPrefix,
    ...(options.bridgePrefix === undefined ? {} : { bridgePrefix: options.bridgePrefix }),
    ...(options.addressPools === undefined ? {} : { addressPools: options.addressPools }),
  });
  await network.init();
  const volumes = await VolumeService.open({ root: join(dataRoot, 'volumes'), events: events.emit, log });
  const containers = new ContainerService({
    store: new ContainerStore(join(dataRoot, 'containers')),
    images,
    rootfs,
    runtime,
    network,
    mounts: new MountPlanner({ volumes, events: events.emit, log }),
    events: events.emit,
    log,
    cgroupParent: options.cgroupParent,
    hostHardLimits: parseHardLimits(await readFile('/proc/self/limits', 'utf8')),
    initBinary: options.initBinary ?? '/usr/bin/tini-static',
    buildSpec,
    readLog,
  });
  await containers.restore();
  const containerOps = new ContainerOps({
    containers,
    images,
    rootfs,
    runtime,
    events: events.emit,
    log,
    cgroupParent: options.cgroupParent,
    scratchDir: join(execRoot, 'rootfs-mounts'),
    // ContainerStore keeps each container's bundle, with its rootfs mount point, in containers/<id>/.
    rootfsPathOf: (id) => join(dataRoot, 'containers', id, 'rootfs'),
  });
  containers.onBeforeRemove((id) => containerOps.releaseScratch(id));
  const registry = await createRegistryService({
    images,
    options: {
      insecureRegistries: options.insecureRegistries ?? [],
      allowedRegistries: options.allowedRegistries ?? [],
      ...(options.registryCertsDir !== undefined ? { certsDir: options.registryCertsDir } : {}),
    },
    partialDir: join(dataRoot, 'content', 'partial'),
    blobSourcesDir: join(dataRoot, 'distribution', 'blob-sources'),
    mirrors: options.registryMirrors ?? [],
    log,
  });
  const build = await buildService(dataRoot, containers, containerOps, images, registry);
  const exec = new ExecService({ containers, runtime, events: events.emit, log, readLog });
  const stopForgettingExecs = events.subscribe((e) => {
    if (e.Type === 'container' && e.Action === 'destroy') exec.forgetContainer(e.Actor.ID);
  });
  return {
    containers,
    exec,
    stdio: new ContainerStdio({ containers, runtime, events }),
    images,
    rootfs,
    registry,
    volumes,
    containerOps,
    build,
    networks: network,
    events,
    options,
    async close(opts = {}) {
      stopForgettingExecs();
      containers.close();
      await runtime.close();
      await network.close({ teardown: opts.teardownNetwork === true });
      await volumes.close();
    },
  };
}

/** The builder runs its steps through the same container calls the API uses. */
async function buildService(
  dataRoot: string,
  containers: ContainerService,
  containerOps: ContainerOps,
  images: ImageService,
  registry: RegistryService,
): Promise<{ builder: Builder; cache: BuildCache }> {
  const dir = join(dataRoot, 'build');
  const cache = await BuildCache.open(dir);
  const builder = new Builder({
    images,
    cache,
    registry,
    dir,
    containers: {
      create: (request) => containers.create(request),
      start: (id) => containers.start(id),
      attachOutput: (id, signal) => containers.attachOutput(id, signal),
      wait: (id) => containers.wait(id),
      remove: (id) => containers.remove(id, { force: true, volumes: true }),
      statPath: async (id, path) => {
        const stat = await containerOps.statPath(id, path).catch((e: unknown) => {
          if (e instanceof NotFoundError) return undefined;
          throw e;
        });
        return stat && { isDirectory: (stat.mode & constants.S_IFMT) === constants.S_IFDIR };
      },
      putArchive: (id, path, tar) => containerOps.putArchive(id, path, tar, { copyUidGid: true }),
      getArchive: async (id, path) => (await containerOps.getArchive(id, path)).tar,
      userOfImage: (imageId) => containers.userOfImage(imageId)?.id,
    },
  });
  return { builder, cache };
}
