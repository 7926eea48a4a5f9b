import type { Command } from 'commander';
import type { HostConfig } from '../api/index.js';
import { UsageError } from './errors.js';
import { collect } from './options.js';

/** `-v`, `--mount`, `--tmpfs`, `--volumes-from` as commander parses them. */
export interface MountFlags {
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  volumesFrom?: string[];
}

export function addMountFlags(cmd: Command): Command {
  return cmd
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect);
}

type MountObject = Record<string, unknown>;

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** go-units' RAMInBytes: `64m`, `1g`, `1024`. */
function ramInBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtb]?)i?b?$/i.exec(text.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) throw new UsageError(`invalid size: '${text}'`);
  return Math.floor(Number(match[1]) * unit);
}

function parseBool(key: string, value: string | undefined, flag: string): boolean {
  if (value === undefined || value === '1' || value.toLowerCase() === 'true') return true;
  if (value === '0' || value.toLowerCase() === 'false') return false;
  throw new UsageError(`invalid argument "${flag}" for "--mount" flag: invalid value for ${key}: ${value}`);
}

/** docker's `--mount type=...,source=...,target=...[,option]` as an API Mount. */
export function parseMountFlag(flag: string): MountObject {
  const mount: MountObject = { Type: 'volume' };
  const bind: MountObject = {};
  const volume: MountObject = {};
  const tmpfs: MountObject = {};
  const fail = (detail: string) => new UsageError(`invalid argument "${flag}" for "--mount" flag: ${detail}`);
  for (const field of flag.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? undefined : field.slice(eq + 1);
    const need = () => {
      if (value === undefined) throw fail(`invalid field '${field}' must be a key=value pair`);
      return value;
    };
    switch (key) {
      case 'type':
        mount.Type = need();
        break;
      case 'source':
      case 'src':
        mount.Source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        mount.Target = need();
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = parseBool(key, value, flag);
        break;
      case 'consistency':
        mount.Consistency = need();
        break;
      case 'bind-propagation':
        bind.Propagation = need();
        break;
      case 'bind-nonrecursive':
        bind.NonRecursive = parseBool(key, value, flag);
        break;
      case 'bind-create-mountpoint':
        bind.CreateMountpoint = parseBool(key, value, flag);
        break;
      case 'volume-nocopy':
        volume.NoCopy = parseBool(key, value, flag);
        break;
      case 'volume-subpath':
        volume.Subpath = need();
        break;
      case 'volume-driver':
        volume.DriverConfig = { ...(volume.DriverConfig as object), Name: need() };
        break;
      case 'volume-label': {
        const [k = '', v = ''] = need().split('=', 2);
        volume.Labels = { ...(volume.Labels as object), [k]: v };
        break;
      }
      case 'volume-opt': {
        const text = need();
        const at = text.indexOf('=');
        const config = (volume.DriverConfig ?? {}) as { Options?: Record<string, string> };
        volume.DriverConfig = {
          ...config,
          Options: {
            ...config.Options,
            [at === -1 ? text : text.slice(0, at)]: at === -1 ? '' : text.slice(at + 1),
          },
        };
        break;
      }
      case 'tmpfs-size':
        tmpfs.SizeBytes = ramInBytes(need());
        break;
      case 'tmpfs-mode': {
        const mode = Number.parseInt(need(), 8);
        if (Number.isNaN(mode)) throw fail(`invalid value for ${key}: ${value}`);
        tmpfs.Mode = mode;
        break;
      }
      default:
        throw fail(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (Object.keys(bind).length > 0) mount.BindOptions = bind;
  if (Object.keys(volume).length > 0) mount.VolumeOptions = volume;
  if (Object.keys(tmpfs).length > 0) mount.TmpfsOptions = tmpfs;
  return mount;
}

/** What the mount flags put in the create request, as docker's CLI sends it. */
export function applyMountFlags(flags: MountFlags): { host: HostConfig; volumes: Record<string, object> } {
  const host: HostConfig = {};
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const spec of flags.volume ?? []) {
    // `-v /path` asks for an anonymous volume (Config.Volumes); anything with a source is a bind.
    if (spec.indexOf(':', 1) === -1) volumes[spec] = {};
    else binds.push(spec);
  }
  if (binds.length > 0) host.Binds = binds;
  if (flags.mount && flags.mount.length > 0) host.Mounts = flags.mount.map(parseMountFlag);
  if (flags.tmpfs && flags.tmpfs.length > 0) {
    const tmpfs: Record<string, string> = {};
    for (const spec of flags.tmpfs) {
      const colon = spec.indexOf(':');
      if (colon === -1) tmpfs[spec] = '';
      else tmpfs[spec.slice(0, colon)] = spec.slice(colon + 1);
    }
    host.Tmpfs = tmpfs;
  }
  if (flags.volumesFrom && flags.volumesFrom.length > 0) host.VolumesFrom = flags.volumesFrom;
  return { host, volumes };
}
