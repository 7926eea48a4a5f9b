import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig, ContainerStatus, HostConfig } from '../api/index.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../store/index.js';
import type { HealthState } from './health.js';
import type { EndpointRequest, NetworkAttachment } from './network/index.js';
import type { MountRecord } from './volume/index.js';

export interface ContainerStateRecord {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  /** RFC 3339, or Docker's zero time when never started. */
  startedAt: string;
  finishedAt: string;
  /** Present while the container has a health check. */
  health?: HealthState;
}

/** What the daemon keeps about one container; server/ turns it into Docker's shapes. */
export interface ContainerRecord {
  id: string;
  /** With the leading slash, as Docker stores names. */
  name: string;
  created: string;
  /** The image as the user named it (Config.Image). */
  imageRef: string;
  imageId: string;
  /** The effective configuration: the request merged over the image's config. */
  config: ContainerConfig;
  hostConfig: HostConfig;
  path: string;
  args: string[];
  state: ContainerStateRecord;
  restartCount: number;
  /** Stopped by `stop`/`kill`: restart policies leave it alone until it is started again. */
  manuallyStopped?: boolean;
  network?: NetworkAttachment;
  /** NetworkingConfig.EndpointsConfig as created, plus later `network connect`s (aliases, static IPs). */
  endpointsConfig?: Record<string, EndpointRequest>;
  /** Volumes, binds and tmpfs mounts, decided at create (inspect's `Mounts`). */
  mounts?: MountRecord[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** One JSON file per container under containers/<id>/, replaced atomically on each change. */
export class ContainerStore {
  constructor(readonly root: string) {}

  dirOf(id: string): string {
    return join(this.root, id);
  }

  async save(record: ContainerRecord): Promise<void> {
    await mkdir(this.dirOf(record.id), { recursive: true });
    await writeJsonAtomic(join(this.dirOf(record.id), 'container.json'), record);
  }

  /** Every container whose record was written whole; a directory without one is a create the daemon never finished. */
  async loadAll(): Promise<{ records: ContainerRecord[]; unfinished: string[] }> {
    await mkdir(this.root, { recursive: true });
    const records: ContainerRecord[] = [];
    const unfinished: string[] = [];
    for (const id of await readdir(this.root)) {
      await removeTempFiles(this.dirOf(id));
      const record = await readJsonIfExists<ContainerRecord>(join(this.dirOf(id), 'container.json'));
      if (record) records.push(record);
      else unfinished.push(id);
    }
    return { records, unfinished };
  }

  async remove(id: string): Promise<void> {
    await rm(this.dirOf(id), { recursive: true, force: true });
  }
}
