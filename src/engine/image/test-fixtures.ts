/**
 * Builders of test archives (layers, docker-save and OCI-layout tarballs) and a
 * fingerprint of a directory tree, for the image store's tests. Not used by the daemon.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  linkname?: string;
  mtime?: Date;
}

const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    archive.on('data', (b: unknown) => {
      chunks.push(b as Buffer);
    });
    archive.on('end', () => resolve(Buffer.concat(chunks)));
    archive.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? FIXED_MTIME,
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const callback = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') archive.entry(header, e.content ?? '', callback);
      else archive.entry(header, callback);
    });
  }
  archive.finalize();
  return done;
}

export function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function configFor(layers: readonly Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(gunzipIfNeeded(l))) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
      ...extra,
    }),
  );
}

function gunzipIfNeeded(data: Buffer): Buffer {
  return data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
}

/** docker save before Docker 25: manifest.json, <hex>.json, <dir>/layer.tar. */
export async function legacySaveTar(
  tags: string[],
  layers: readonly Buffer[],
  config = configFor(layers),
): Promise<Buffer> {
  const configHex = hex(sha256(config));
  const entries: TarEntry[] = [];
  const dirs = layers.map((l, i) => hex(sha256(`${configHex}:${i}:${hex(sha256(l))}`)));
  layers.forEach((layer, i) => {
    entries.push(
      { name: `${dirs[i]}/`, type: 'directory' },
      { name: `${dirs[i]}/VERSION`, content: '1.0' },
      { name: `${dirs[i]}/layer.tar`, content: layer },
    );
  });
  entries.push({ name: `${configHex}.json`, content: config });
  entries.push({
    name: 'manifest.json',
    content: JSON.stringify([
      { Config: `${configHex}.json`, RepoTags: tags, Layers: dirs.map((d) => `${d}/layer.tar`) },
    ]),
  });
  return makeTar(entries);
}

export interface OciLayoutOptions {
  /** Annotations of the index.json descriptor. */
  annotations?: Record<string, string>;
  /** Also write docker's manifest.json with these RepoTags (the Docker 25+ form). */
  dockerTags?: string[];
  gzipLayers?: boolean;
}

/** An OCI image layout tarball (oci-layout, index.json, blobs/sha256/...). */
export async function ociLayoutTar(layers: readonly Buffer[], opts: OciLayoutOptions = {}): Promise<Buffer> {
  const stored = layers.map((l) => (opts.gzipLayers ? gzipSync(l) : l));
  const config = configFor(layers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: stored.map((l) => ({
        mediaType: `application/vnd.oci.image.layer.v1.tar${opts.gzipLayers ? '+gzip' : ''}`,
        digest: sha256(l),
        size: l.length,
      })),
    }),
  );
  const blobs = [manifest, config, ...stored];
  const entries: TarEntry[] = [
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    ...blobs.map((b): TarEntry => ({ name: `blobs/sha256/${hex(sha256(b))}`, content: b })),
    {
      name: 'index.json',
      content: JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: sha256(manifest),
            size: manifest.length,
            ...(opts.annotations ? { annotations: opts.annotations } : {}),
          },
        ],
      }),
    },
  ];
  if (opts.dockerTags) {
    entries.push({
      name: 'manifest.json',
      content: JSON.stringify([
        {
          Config: `blobs/sha256/${hex(sha256(config))}`,
          RepoTags: opts.dockerTags,
          Layers: stored.map((l) => `blobs/sha256/${hex(sha256(l))}`),
        },
      ]),
    });
  }
  return makeTar(entries);
}

/** Every path under `root` with its type, mode, owner, size and content hash: equal fingerprints, equal trees. */
export async function fingerprint(root: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const stats = await lstat(path);
      const base = `${prefix}${name} ${stats.mode.toString(8)} ${stats.uid}:${stats.gid}`;
      if (stats.isDirectory()) {
        lines.push(`${base} dir`);
        await walk(path, `${prefix}${name}/`);
      } else if (stats.isSymbolicLink()) {
        lines.push(`${base} -> ${await readlink(path)}`);
      } else if (stats.isFile()) {
        lines.push(`${base} ${stats.size} ${sha256(await readFile(path))}`);
      } else {
        lines.push(`${base} special ${stats.rdev}`);
      }
    }
  };
  await walk(root, '');
  return lines;
}
