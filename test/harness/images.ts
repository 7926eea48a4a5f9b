/**
 * Test images built from the host's busybox-static, so no test needs a registry.
 * The tarballs are deterministic (fixed mtimes and owners): the same busybox binary
 * always gives the same image id.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { BUSYBOX_PATH, requireBusybox } from './prerequisites.js';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  linkname?: string;
}

// A fixed time keeps layer digests, and so image ids, stable between runs.
const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');
const CREATED = '2024-01-01T00:00:00Z';
export const BUSYBOX_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Packs entries, in order, into an uncompressed tar. */
export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    p.on('data', (b: unknown) => {
      chunks.push(b as Buffer);
    });
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: FIXED_MTIME,
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') p.entry(header, e.content ?? '', cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  return done;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The entries of a small root filesystem: busybox, its applets, /etc/passwd and friends. */
export function busyboxRootfsEntries(): TarEntry[] {
  requireBusybox();
  const applets = execFileSync(BUSYBOX_PATH, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'busybox' && !s.includes('/'));
  const entries: TarEntry[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', mode: 0o755, content: readFileSync(BUSYBOX_PATH) },
    // Applets link relatively, so the image works wherever its rootfs is mounted.
    ...applets.sort().map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'dev/', type: 'directory' },
    { name: 'etc/', type: 'directory' },
    {
      name: 'etc/passwd',
      content:
        'root:x:0:0:root:/root:/bin/sh\n' +
        'app:x:1000:1000:app:/home/app:/bin/sh\n' +
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    },
    { name: 'etc/group', content: 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' },
    { name: 'home/', type: 'directory' },
    { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
    { name: 'proc/', type: 'directory' },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'sys/', type: 'directory' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'usr/', type: 'directory' },
    { name: 'var/', type: 'directory' },
  ];
  return entries;
}

export interface ImageConfigOptions {
  env?: string[];
  cmd?: string[];
  entrypoint?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
  historyComment?: string;
}

/**
 * A docker-save tarball in the legacy format (manifest.json, <config>.json,
 * <layer>/layer.tar, repositories) holding one image with the given layers.
 */
export async function dockerSaveTar(
  tag: string,
  layers: readonly Buffer[],
  opts: ImageConfigOptions = {},
): Promise<{ tar: Buffer; imageId: string; diffIds: string[] }> {
  const diffIds = layers.map((l) => `sha256:${sha256Hex(l)}`);
  const containerConfig: Record<string, unknown> = {
    Env: opts.env ?? [BUSYBOX_PATH_ENV],
    Cmd: opts.cmd ?? ['sh'],
  };
  if (opts.entrypoint) containerConfig.Entrypoint = opts.entrypoint;
  if (opts.workingDir) containerConfig.WorkingDir = opts.workingDir;
  if (opts.labels) containerConfig.Labels = opts.labels;
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: CREATED,
    config: containerConfig,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({
      created: CREATED,
      created_by: i === 0 ? 'berth test harness: busybox-static rootfs' : `berth test harness: layer ${i}`,
      ...(opts.historyComment ? { comment: opts.historyComment } : {}),
    })),
  });
  const configHex = sha256Hex(config);
  const layerDirs = layers.map((l, i) => sha256Hex(`${configHex}:${i}:${sha256Hex(l)}`));
  const [repo, tagName] = splitTag(tag);
  const lastLayer = layerDirs[layerDirs.length - 1];
  const entries: TarEntry[] = [];
  layers.forEach((layer, i) => {
    const dir = layerDirs[i]!;
    entries.push(
      { name: `${dir}/`, type: 'directory' },
      { name: `${dir}/VERSION`, content: '1.0' },
      {
        name: `${dir}/json`,
        content: JSON.stringify({
          id: dir,
          ...(i > 0 ? { parent: layerDirs[i - 1] } : {}),
          created: CREATED,
        }),
      },
      { name: `${dir}/layer.tar`, content: layer },
    );
  });
  entries.push(
    { name: `${configHex}.json`, content: config },
    {
      name: 'manifest.json',
      content: JSON.stringify([
        { Config: `${configHex}.json`, RepoTags: [tag], Layers: layerDirs.map((d) => `${d}/layer.tar`) },
      ]),
    },
  );
  if (lastLayer)
    entries.push({ name: 'repositories', content: JSON.stringify({ [repo]: { [tagName]: lastLayer } }) });
  return { tar: await makeTar(entries), imageId: `sha256:${configHex}`, diffIds };
}

function splitTag(ref: string): [string, string] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

let rootfsCache: Promise<Buffer> | undefined;
let rootfsPathCache: Promise<string> | undefined;
const imageCache = new Map<string, Promise<BusyboxImage>>();
const tempFiles: string[] = [];
process.on('exit', () => {
  for (const f of tempFiles) {
    try {
      unlinkSync(f);
    } catch {
      // Already gone.
    }
  }
});

/** The busybox root filesystem as a plain tar (what `docker import` takes). */
export function rootfsTarBytes(): Promise<Buffer> {
  rootfsCache ??= makeTar(busyboxRootfsEntries());
  return rootfsCache;
}

/** Path of a cached file holding rootfsTarBytes(). */
export function rootfsTar(): Promise<string> {
  rootfsPathCache ??= rootfsTarBytes().then((b) => cacheFile('rootfs', b));
  return rootfsPathCache;
}

export interface BusyboxImage {
  /** Path of the docker-save tarball (cached per process). */
  path: string;
  /** `sha256:<hex>` of the config: the id docker shows. */
  imageId: string;
  tag: string;
}

/** Builds (once per process and tag) a docker-save tarball of busybox and returns its path. */
export async function busyboxImageTar(tag = 'busybox:latest'): Promise<string> {
  return (await busyboxImage(tag)).path;
}

export function busyboxImage(tag = 'busybox:latest'): Promise<BusyboxImage> {
  let p = imageCache.get(tag);
  if (!p) {
    p = (async () => {
      const { tar, imageId } = await dockerSaveTar(tag, [await rootfsTarBytes()]);
      return { path: cacheFile(`image-${tag.replace(/[^\w.-]/g, '_')}`, tar), imageId, tag };
    })();
    imageCache.set(tag, p);
  }
  return p;
}

function cacheFile(name: string, data: Buffer): string {
  const path = join(tmpdir(), `berth-test-${process.pid}-${name}.tar`);
  writeFileSync(path, data);
  tempFiles.push(path);
  return path;
}
