import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run } from './exec.js';

/** One line of /proc/self/mounts. */
export interface MountEntry {
  source: string;
  target: string;
  type: string;
  options: string[];
}

export interface OverlayMountOptions {
  /** Top-most first, as overlay wants them. Relative paths resolve against `cwd`. */
  lowerDirs: readonly string[];
  /** Without upper and work dirs the mount is read-only. */
  upperDir?: string;
  workDir?: string;
  /**
   * Directory the mount program runs in. Overlay's option string is limited to one
   * page, so callers pass short relative layer paths and run the mount from their root.
   */
  cwd?: string;
}

// /proc/mounts escapes space, tab, newline and backslash as \ooo.
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The mount table as this process sees it. */
export async function listMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [source, target, type, options] = line.split(' ');
    if (source === undefined || target === undefined || type === undefined || options === undefined) continue;
    entries.push({
      source: unescapeMountField(source),
      target: unescapeMountField(target),
      type,
      options: options.split(','),
    });
  }
  return entries;
}

export async function isMountPoint(target: string): Promise<boolean> {
  const absolute = resolve(target);
  return (await listMounts()).some((m) => m.target === absolute);
}

/** Mounts an overlay on `target`. Throws CommandError with mount's stderr on failure. */
export async function mountOverlay(target: string, opts: OverlayMountOptions): Promise<void> {
  const options = [`lowerdir=${opts.lowerDirs.join(':')}`];
  if (opts.upperDir !== undefined) options.push(`upperdir=${opts.upperDir}`);
  if (opts.workDir !== undefined) options.push(`workdir=${opts.workDir}`);
  const runOptions = opts.cwd === undefined ? {} : { cwd: opts.cwd };
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), resolve(target)], runOptions);
}

export interface GenericMountOptions {
  /** The filesystem type (`tmpfs`, `nfs`, `ext4` ...); mount(8) guesses when omitted. */
  type?: string;
  /** mount(8) options, e.g. `size=64m` or `bind`. */
  options?: readonly string[];
}

/** mount(8) of any filesystem on `target`. Throws CommandError with mount's stderr on failure. */
export async function mount(source: string, target: string, opts: GenericMountOptions = {}): Promise<void> {
  const args: string[] = [];
  if (opts.type !== undefined && opts.type !== '') args.push('-t', opts.type);
  if (opts.options !== undefined && opts.options.length > 0) args.push('-o', opts.options.join(','));
  await run('mount', [...args, source, resolve(target)]);
}

/** Unmounts `target`; a target that is not a mount point is left alone, so this is idempotent. */
export async function unmount(target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  await run('umount', [resolve(target)]);
}
