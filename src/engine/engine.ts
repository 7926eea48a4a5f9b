import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerStore } from './container-store.js';
import { ContainerService } from './containers.js';
import { EventBus } from './events.js';
import { type ImageService, openImageStore, type RootfsService } from './image/index.js';
import type { Logger } from './logger.js';
import { createNetworkService, type NetworkService } from './network/index.js';
import { buildSpec, type ContainerRuntime, createRuntime, readLog } from './runtime/index.js';

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
  log: Logger;
}

/** The daemon's core, as server/ sees it. */
export interface Engine {
  readonly containers: ContainerService;
  readonly images: ImageService;
  readonly rootfs: RootfsService;
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
  });
  await network.init();
  const containers = new ContainerService({
    store: new ContainerStore(join(dataRoot, 'containers')),
    images,
    rootfs,
    runtime,
    network,
    events: events.emit,
    log,
    cgroupParent: options.cgroupParent,
    buildSpec,
    readLog,
  });
  await containers.restore();
  return {
    containers,
    images,
    rootfs,
    events,
    options,
    async close(opts = {}) {
      containers.close();
      await runtime.close();
      await network.close({ teardown: opts.teardownNetwork === true });
    },
  };
}
