import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint, unmount } from '../../platform/index.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../store/index.js';
import type { VolumeRecord } from './types.js';

const RECORD_FILE = 'volume.json';

/**
 * volumes/<name>/{volume.json,_data}. A volume exists exactly when its volume.json
 * does: create writes it last and remove deletes it first, so a daemon killed half
 * way leaves a directory without one, which the next load takes away.
 */
export class VolumeStore {
  constructor(readonly root: string) {}

  dirOf(name: string): string {
    return join(this.root, name);
  }

  dataDirOf(name: string): string {
    return join(this.root, name, '_data');
  }

  async save(record: VolumeRecord): Promise<void> {
    await mkdir(this.dataDirOf(record.name), { recursive: true, mode: 0o755 });
    await writeJsonAtomic(join(this.dirOf(record.name), RECORD_FILE), record);
  }

  async loadAll(): Promise<{ records: VolumeRecord[]; unfinished: string[] }> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    const records: VolumeRecord[] = [];
    const unfinished: string[] = [];
    for (const name of await readdir(this.root)) {
      await removeTempFiles(this.dirOf(name));
      const record = await readJsonIfExists<VolumeRecord>(join(this.dirOf(name), RECORD_FILE));
      if (record) records.push(record);
      else unfinished.push(name);
    }
    return { records, unfinished };
  }

  /** Unregisters first, then deletes the data; a driver mount is taken off before anything is deleted. */
  async remove(name: string): Promise<void> {
    await rm(join(this.dirOf(name), RECORD_FILE), { force: true });
    await this.removeLeftovers(name);
  }

  /** Deletes a directory no record names. Never deletes through a mount (a bind of a host directory). */
  async removeLeftovers(name: string): Promise<void> {
    const data = this.dataDirOf(name);
    await unmount(data);
    if (await isMountPoint(data)) throw new Error(`volume data ${data} is still mounted`);
    await rm(this.dirOf(name), { recursive: true, force: true });
  }
}
