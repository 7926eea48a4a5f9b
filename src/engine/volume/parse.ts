/**
 * Docker's mount syntaxes -> one shape: HostConfig.Binds (`src:dst[:mode]`),
 * HostConfig.Mounts (objects), HostConfig.Tmpfs (`{dst: "opts"}`) and VolumesFrom
 * (`name[:ro|rw]`). Pure: the checks that need the host (a bind source exists) are
 * the planner's. Errors are InvalidArgumentError with Docker's texts.
 */
import { isAbsolute, posix } from 'node:path';
import { InvalidArgumentError } from '../../api/index.js';
import type { Propagation } from '../runtime/index.js';
import { isValidVolumeName } from './names.js';

export type MountRequest =
  | {
      type: 'bind';
      source: string;
      destination: string;
      readonly: boolean;
      mode: string;
      propagation: Propagation;
      nonRecursive: boolean;
      /** `-v` creates a missing source; `--mount` refuses it unless CreateMountpoint. */
      createSource: boolean;
    }
  | {
      type: 'volume';
      /** undefined: an anonymous volume. */
      name: string | undefined;
      destination: string;
      readonly: boolean;
      mode: string;
      noCopy: boolean;
      labels: Record<string, string>;
      driverOptions: Record<string, string>;
    }
  | {
      type: 'tmpfs';
      destination: string;
      readonly: boolean;
      options: string[];
      /** From HostConfig.Tmpfs, which Docker leaves out of inspect's Mounts. */
      hidden: boolean;
    };

const PROPAGATIONS: readonly Propagation[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const LABEL_MODES = ['z', 'Z'];
const CONSISTENCY_MODES = ['consistent', 'cached', 'delegated'];

function isPropagation(value: string): value is Propagation {
  return (PROPAGATIONS as readonly string[]).includes(value);
}

/** The mount target: absolute, not `/`, normalized. */
function checkDestination(destination: string, type: string): string {
  if (destination === '')
    throw new InvalidArgumentError(`invalid mount config for type "${type}": field Target must not be empty`);
  if (!isAbsolute(destination)) {
    throw new InvalidArgumentError(
      `invalid mount config for type "${type}": invalid mount path: '${destination}' mount path must be absolute`,
    );
  }
  const clean = posix.normalize(destination).replace(/(.)\/$/, '$1');
  if (clean === '/') throw new InvalidArgumentError(`invalid specification: destination can't be '/'`);
  return clean;
}

interface BindModes {
  readonly: boolean;
  propagation: Propagation | undefined;
  noCopy: boolean;
}

function parseBindModes(modeText: string, raw: string): BindModes {
  const modes: BindModes = { readonly: false, propagation: undefined, noCopy: false };
  let access = 0;
  for (const mode of modeText.split(',')) {
    if (mode === 'ro' || mode === 'rw') {
      access++;
      modes.readonly = mode === 'ro';
    } else if (isPropagation(mode) && modes.propagation === undefined) {
      modes.propagation = mode;
    } else if (mode === 'nocopy' && !modes.noCopy) {
      modes.noCopy = true;
    } else if (!LABEL_MODES.includes(mode) && !CONSISTENCY_MODES.includes(mode)) {
      throw new InvalidArgumentError(`invalid volume specification: '${raw}': invalid mode: ${modeText}`);
    }
    if (access > 1)
      throw new InvalidArgumentError(`invalid volume specification: '${raw}': invalid mode: ${modeText}`);
  }
  return modes;
}

function isMode(text: string): boolean {
  try {
    parseBindModes(text, text);
    return true;
  } catch {
    return false;
  }
}

/** One HostConfig.Binds entry: `/host:/ctr[:opts]`, `name:/ctr[:opts]` or `/ctr`. */
export function parseBind(raw: string): MountRequest {
  const parts = raw.split(':');
  const invalid = (detail?: string) =>
    new InvalidArgumentError(`invalid volume specification: '${raw}'${detail ? `: ${detail}` : ''}`);
  if (parts.length > 3 || parts.some((p, i) => p === '' && i < 2)) throw invalid();
  let source = '';
  let destination: string;
  let modeText = '';
  if (parts.length === 1) destination = parts[0] ?? '';
  else if (parts.length === 2) {
    // `/ctr:ro` is not a bind of /ctr; Docker refuses it.
    if (isMode(parts[1] ?? '')) throw invalid();
    [source = '', destination = ''] = parts;
  } else [source = '', destination = '', modeText = ''] = parts;
  const kind = source !== '' && isAbsolute(source) ? 'bind' : 'volume';
  let target: string;
  try {
    target = checkDestination(destination, kind);
  } catch (e) {
    throw invalid((e as Error).message);
  }
  const modes =
    modeText === ''
      ? { readonly: false, propagation: undefined, noCopy: false }
      : parseBindModes(modeText, raw);
  if (kind === 'bind') {
    if (modes.noCopy) throw invalid('invalid mode: nocopy');
    return {
      type: 'bind',
      source: posix.normalize(source),
      destination: target,
      readonly: modes.readonly,
      mode: modeText,
      propagation: modes.propagation ?? 'rprivate',
      nonRecursive: false,
      createSource: true,
    };
  }
  if (modes.propagation !== undefined) throw invalid('propagation is not supported for volumes');
  if (source !== '' && !isValidVolumeName(source)) {
    throw new InvalidArgumentError(
      `create ${source}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
  return {
    type: 'volume',
    name: source === '' ? undefined : source,
    destination: target,
    readonly: modes.readonly,
    // Docker shows `z` for a named `-v` volume without options, '' for an anonymous one.
    mode: modeText === '' && source !== '' ? 'z' : modeText,
    noCopy: modes.noCopy,
    labels: {},
    driverOptions: {},
  };
}

/** HostConfig.Mounts as the API sends it (`--mount`). */
export interface MountObject {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    NonRecursive?: boolean;
    CreateMountpoint?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
  [key: string]: unknown;
}

/** One HostConfig.Mounts entry. */
export function parseMount(m: MountObject): MountRequest {
  const type = m.Type ?? '';
  const fail = (detail: string) =>
    new InvalidArgumentError(`invalid mount config for type "${type}": ${detail}`);
  const refuse = (field: string) => fail(`field ${field} must not be specified`);
  if (!['bind', 'volume', 'tmpfs'].includes(type)) throw fail('mount type unknown');
  if (typeof m.Target !== 'string' || m.Target === '') throw fail('field Target must not be empty');
  const destination = checkDestination(m.Target, type);
  const readonly = m.ReadOnly === true;
  const source = m.Source ?? '';
  if (type === 'bind') {
    if (m.VolumeOptions) throw refuse('VolumeOptions');
    if (m.TmpfsOptions) throw refuse('TmpfsOptions');
    if (source === '') throw fail('field Source must not be empty');
    if (!isAbsolute(source)) throw fail(`invalid mount path: '${source}' mount path must be absolute`);
    const propagation = m.BindOptions?.Propagation || 'rprivate';
    if (!isPropagation(propagation)) throw fail(`invalid propagation mode: ${propagation}`);
    return {
      type: 'bind',
      source: posix.normalize(source),
      destination,
      readonly,
      mode: '',
      propagation,
      nonRecursive: m.BindOptions?.NonRecursive === true,
      createSource: m.BindOptions?.CreateMountpoint === true,
    };
  }
  if (type === 'volume') {
    if (m.BindOptions) throw refuse('BindOptions');
    if (m.TmpfsOptions) throw refuse('TmpfsOptions');
    if (m.VolumeOptions?.Subpath) throw fail('volume subpaths are not supported');
    const driver = m.VolumeOptions?.DriverConfig?.Name;
    if (driver && driver !== 'local') throw fail(`volume driver ${driver} is not supported`);
    if (source !== '' && !isValidVolumeName(source)) {
      throw new InvalidArgumentError(
        `create ${source}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    return {
      type: 'volume',
      name: source === '' ? undefined : source,
      destination,
      readonly,
      mode: '',
      noCopy: m.VolumeOptions?.NoCopy === true,
      labels: { ...(m.VolumeOptions?.Labels ?? {}) },
      driverOptions: { ...(m.VolumeOptions?.DriverConfig?.Options ?? {}) },
    };
  }
  if (source !== '') throw refuse('Source');
  if (m.BindOptions) throw refuse('BindOptions');
  if (m.VolumeOptions) throw refuse('VolumeOptions');
  const options: string[] = [];
  const tmpfs = m.TmpfsOptions ?? {};
  if (tmpfs.SizeBytes !== undefined && tmpfs.SizeBytes !== 0) {
    if (!Number.isInteger(tmpfs.SizeBytes) || tmpfs.SizeBytes < 0)
      throw fail(`invalid tmpfs size: ${tmpfs.SizeBytes}`);
    options.push(`size=${tmpfs.SizeBytes}`);
  }
  if (tmpfs.Mode !== undefined && tmpfs.Mode !== 0) {
    if (!Number.isInteger(tmpfs.Mode) || tmpfs.Mode < 0 || tmpfs.Mode > 0o7777)
      throw fail(`invalid tmpfs mode: ${tmpfs.Mode}`);
    options.push(`mode=${tmpfs.Mode.toString(8)}`);
  }
  for (const option of tmpfs.Options ?? []) {
    const [key = '', value] = option;
    options.push(checkTmpfsOption(value === undefined ? key : `${key}=${value}`));
  }
  return { type: 'tmpfs', destination, readonly, options, hidden: false };
}

// What a tmpfs takes (mount(8), tmpfs(5)); anything else is a typo Docker's runtime would fail on.
const TMPFS_FLAGS = [
  'ro',
  'rw',
  'exec',
  'noexec',
  'suid',
  'nosuid',
  'dev',
  'nodev',
  'atime',
  'noatime',
  'relatime',
  'norelatime',
  'strictatime',
  'nostrictatime',
  'diratime',
  'nodiratime',
  'sync',
  'async',
  'dirsync',
  'mand',
  'nomand',
  'private',
  'rprivate',
  'shared',
  'rshared',
  'slave',
  'rslave',
  'tmpcopyup',
];
const TMPFS_KEYS = ['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol', 'huge'];

function checkTmpfsOption(option: string): string {
  const eq = option.indexOf('=');
  const known =
    eq === -1
      ? TMPFS_FLAGS.includes(option)
      : TMPFS_KEYS.includes(option.slice(0, eq)) && eq < option.length - 1;
  if (!known) throw new InvalidArgumentError(`invalid tmpfs option: "${option}"`);
  return option;
}

/** HostConfig.Tmpfs: `{"/run": "rw,size=64m"}`. */
export function parseTmpfs(tmpfs: Record<string, string>): MountRequest[] {
  return Object.entries(tmpfs).map(([destination, text]) => {
    const options = text
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)
      .map(checkTmpfsOption);
    const readonly = options.includes('ro');
    return {
      type: 'tmpfs',
      destination: checkDestination(destination, 'tmpfs'),
      readonly,
      options: options.filter((o) => o !== 'ro' && o !== 'rw'),
      hidden: true,
    };
  });
}

/** One VolumesFrom entry: the container and how its mounts are shared. */
export function parseVolumesFrom(raw: string): { container: string; access: 'ro' | 'rw' | undefined } {
  const colon = raw.lastIndexOf(':');
  if (colon === -1) return { container: raw, access: undefined };
  const container = raw.slice(0, colon);
  const mode = raw.slice(colon + 1);
  if (container === '') throw new InvalidArgumentError(`invalid volumes-from specification: '${raw}'`);
  // Docker accepts z/Z with the access mode; SELinux labels mean nothing here.
  const modes = mode.split(',').filter((m) => !LABEL_MODES.includes(m));
  if (modes.length > 1 || (modes[0] !== undefined && modes[0] !== 'ro' && modes[0] !== 'rw')) {
    throw new InvalidArgumentError(`invalid mode: ${mode}`);
  }
  return { container, access: modes[0] as 'ro' | 'rw' | undefined };
}
