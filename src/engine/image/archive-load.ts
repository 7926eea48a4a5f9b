import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import type { ImageConfigBlob } from '../../api/index.js';
import { InvalidArgumentError } from '../../api/index.js';
import { asArchiveError, checkDigest, MaybeGunzip, sha256Of } from './tar-io.js';

/** An archive unpacked into a staging dir under content/ingest, with its files looked up by name. */
export interface StagedArchive {
  /** The staged file holding the archive member `name`, symlinks followed. InvalidArgumentError if absent. */
  fileOf(name: string): string;
  has(name: string): boolean;
  read(name: string): Promise<Buffer>;
}

/** One image found in an archive, before anything of it is checked against the layers. */
export interface ImagePlan {
  config: ImageConfigBlob;
  configBytes: Buffer;
  /** `sha256:` of the config bytes: the image id. */
  configDigest: string;
  /** The archive's own OCI manifest, kept so a save gives it back unchanged. */
  manifest?: { bytes: Buffer; digest: string };
  layers: LayerPlan[];
  /** Names the archive gives the image, as written there (not yet validated). */
  names: string[];
}

export interface LayerPlan {
  /** Staged file with the layer as the archive holds it (tar, or gzip of a tar). */
  file: string;
  /** The blob digest the archive claims for it, when it claims one (OCI layouts do). */
  digest?: string;
  mediaType?: string;
  /** The file is the content store's own blob (a pulled layer), not a staged copy. */
  isStoredBlob?: boolean;
}

const MAX_SYMLINK_HOPS = 16;
const MAX_JSON_BYTES = 64 * 1024 * 1024;
const SUPPORTED_LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/** Go's name for this machine's architecture, as images and registries spell it. */
export function hostArchitecture(): string {
  return GO_ARCH[process.arch] ?? process.arch;
}

/**
 * Unpacks a docker-save or OCI-layout archive (optionally gzip) into `dir`. Member names
 * are validated, never used as paths: each regular file is staged as `dir/<n>`.
 */
export async function stageArchive(tar: Readable, dir: string, signal?: AbortSignal): Promise<StagedArchive> {
  const files = new Map<string, string>();
  const links = new Map<string, string>();
  const reader = extract();
  const feeding = pipeline(tar, new MaybeGunzip(), reader, signal ? { signal } : {});
  try {
    for await (const entry of reader) {
      const name = archiveName(entry.header.name);
      const type = entry.header.type;
      if (type === 'file' || type === 'contiguous-file') {
        const staged = join(dir, String(files.size));
        // streamx readables are async iterable at run time; their typings do not say so.
        await pipeline(
          entry as unknown as AsyncIterable<Uint8Array>,
          // Large writes: at the default 16 KiB the request stalls behind the disk and a
          // 200 MB load runs at a fifth of the socket's speed.
          createWriteStream(staged, { flags: 'wx', highWaterMark: 1024 * 1024 }),
        );
        files.set(name, staged);
      } else if (type === 'symlink' || type === 'link') {
        // docker save links a layer that two images share rather than storing it twice.
        const target =
          type === 'symlink' ? posix.join(posix.dirname(name), entry.header.linkname) : entry.header.linkname;
        links.set(name, archiveName(target));
      }
      entry.resume();
    }
    await feeding;
  } catch (e) {
    tar.destroy();
    reader.destroy();
    // A parse failure already surfaced through the iterator; this only waits for the pipeline to settle.
    await feeding.catch(() => undefined);
    throw asArchiveError(e, 'invalid archive');
  }

  const resolveName = (name: string): string | undefined => {
    let current = archiveName(name);
    for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
      const file = files.get(current);
      if (file !== undefined) return file;
      const next = links.get(current);
      if (next === undefined) return undefined;
      current = next;
    }
    return undefined;
  };
  const fileOf = (name: string): string => {
    const file = resolveName(name);
    if (file === undefined) throw new InvalidArgumentError(`invalid archive: missing "${name}"`);
    return file;
  };
  return {
    fileOf,
    has: (name) => resolveName(name) !== undefined,
    read: (name) => readFile(fileOf(name)),
  };
}

/** Normalizes an archive member name; absolute names and `..` are refused outright. */
function archiveName(name: string): string {
  if (name.startsWith('/')) throw new InvalidArgumentError(`invalid archive: path "${name}" is absolute`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..'))
    throw new InvalidArgumentError(`invalid archive: path "${name}" escapes the root`);
  return parts.join('/');
}

function parseJson<T>(bytes: Buffer, what: string): T {
  if (bytes.length > MAX_JSON_BYTES) throw new InvalidArgumentError(`${what}: too large`);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw new InvalidArgumentError(`${what}: invalid JSON`, { cause: e });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the parts of a config the store relies on. */
export function parseImageConfig(bytes: Buffer, what: string): ImageConfigBlob {
  const config = parseJson<unknown>(bytes, what);
  if (!isRecord(config) || !isRecord(config.rootfs) || !Array.isArray(config.rootfs.diff_ids)) {
    throw new InvalidArgumentError(`${what}: not an image configuration (no rootfs.diff_ids)`);
  }
  for (const diffId of config.rootfs.diff_ids) checkDigest(diffId, `${what}: diff_id`);
  return config as unknown as ImageConfigBlob;
}

/** Reads a blob of an OCI layout and checks it is what its digest says. */
async function readBlob(archive: StagedArchive, digest: unknown, what: string): Promise<Buffer> {
  const checked = checkDigest(digest, what);
  const bytes = await archive.read(blobName(checked));
  const actual = sha256Of(bytes);
  if (actual !== checked)
    throw new InvalidArgumentError(`${what}: digest mismatch: expected ${checked}, got ${actual}`);
  return bytes;
}

function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** The blob digest an archive path names, for paths of the form blobs/sha256/<hex>. */
function digestOfBlobPath(name: string): string | undefined {
  const match = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(archiveName(name));
  return match ? `sha256:${match[1]}` : undefined;
}

/**
 * Finds the images in a staged archive. docker save's manifest.json wins when present
 * (legacy and Docker 25+ archives); otherwise the OCI layout's index.json is read.
 */
export async function planLoad(archive: StagedArchive): Promise<ImagePlan[]> {
  if (archive.has('manifest.json')) return planFromDockerManifest(archive);
  if (archive.has('index.json')) return planFromOciIndex(archive);
  throw new InvalidArgumentError('invalid archive: neither manifest.json nor index.json found');
}

async function planFromDockerManifest(archive: StagedArchive): Promise<ImagePlan[]> {
  const entries = parseJson<unknown>(await archive.read('manifest.json'), 'manifest.json');
  if (!Array.isArray(entries)) throw new InvalidArgumentError('manifest.json: not a list');
  const plans: ImagePlan[] = [];
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
      throw new InvalidArgumentError('manifest.json: entry without Config or Layers');
    }
    const configBytes = await archive.read(entry.Config);
    const configDigest = sha256Of(configBytes);
    const claimed = digestOfBlobPath(entry.Config);
    if (claimed !== undefined && claimed !== configDigest) {
      throw new InvalidArgumentError(`${entry.Config}: digest mismatch: got ${configDigest}`);
    }
    const config = parseImageConfig(configBytes, entry.Config);
    const layers = entry.Layers.map((layer): LayerPlan => {
      if (typeof layer !== 'string')
        throw new InvalidArgumentError('manifest.json: a layer path is not a string');
      const digest = digestOfBlobPath(layer);
      return { file: archive.fileOf(layer), ...(digest ? { digest } : {}) };
    });
    const names = Array.isArray(entry.RepoTags) ? entry.RepoTags.filter((t) => typeof t === 'string') : [];
    plans.push({ config, configBytes, configDigest, layers, names });
  }
  return plans;
}

async function planFromOciIndex(archive: StagedArchive): Promise<ImagePlan[]> {
  if (!archive.has('oci-layout'))
    throw new InvalidArgumentError('invalid archive: index.json without oci-layout');
  const index = parseJson<unknown>(await archive.read('index.json'), 'index.json');
  if (!isRecord(index) || !Array.isArray(index.manifests))
    throw new InvalidArgumentError('index.json: no manifests');
  const byConfig = new Map<string, ImagePlan>();
  for (const descriptor of index.manifests) {
    if (!isRecord(descriptor)) throw new InvalidArgumentError('index.json: invalid descriptor');
    const name = nameOfDescriptor(descriptor);
    const plan = await planFromDescriptor(archive, descriptor, 0);
    const known = byConfig.get(plan.configDigest);
    const target = known ?? plan;
    if (!known) byConfig.set(plan.configDigest, plan);
    if (name !== undefined && !target.names.includes(name)) target.names.push(name);
  }
  return [...byConfig.values()];
}

/** Docker 25+ and containerd put the full name in their own annotation; OCI's ref.name may be only a tag. */
function nameOfDescriptor(descriptor: Record<string, unknown>): string | undefined {
  const annotations = isRecord(descriptor.annotations) ? descriptor.annotations : {};
  const full = annotations['io.containerd.image.name'];
  if (typeof full === 'string' && full !== '') return full;
  const refName = annotations['org.opencontainers.image.ref.name'];
  return typeof refName === 'string' && refName !== '' ? refName : undefined;
}

async function planFromDescriptor(
  archive: StagedArchive,
  descriptor: Record<string, unknown>,
  depth: number,
): Promise<ImagePlan> {
  if (depth > 4) throw new InvalidArgumentError('index.json: indexes nested too deep');
  const what = `manifest ${String(descriptor.digest)}`;
  const bytes = await readBlob(archive, descriptor.digest, what);
  const document = parseJson<unknown>(bytes, what);
  if (!isRecord(document)) throw new InvalidArgumentError(`${what}: not an object`);
  const mediaType =
    typeof document.mediaType === 'string' ? document.mediaType : String(descriptor.mediaType);
  if (INDEX_TYPES.has(mediaType) || (Array.isArray(document.manifests) && !('config' in document))) {
    return planFromDescriptor(archive, selectPlatform(document, what), depth + 1);
  }
  if (!isRecord(document.config) || !Array.isArray(document.layers)) {
    throw new InvalidArgumentError(`${what}: not an image manifest`);
  }
  const configBytes = await readBlob(archive, document.config.digest, `config of ${what}`);
  const config = parseImageConfig(configBytes, `config of ${what}`);
  const layers = document.layers.map((layer): LayerPlan => {
    if (!isRecord(layer)) throw new InvalidArgumentError(`${what}: invalid layer descriptor`);
    const digest = checkDigest(layer.digest, `${what}: layer`);
    const layerType = String(layer.mediaType);
    if (!SUPPORTED_LAYER_TYPES.has(layerType)) {
      throw new InvalidArgumentError(`layer ${digest}: unsupported media type ${layerType}`);
    }
    return { file: archive.fileOf(blobName(digest)), digest, mediaType: layerType };
  });
  return {
    config,
    configBytes,
    configDigest: sha256Of(configBytes),
    manifest: { bytes, digest: checkDigest(descriptor.digest, what) },
    layers,
    names: [],
  };
}

/** Picks linux on this machine's architecture from an index, as a pull would. */
function selectPlatform(index: Record<string, unknown>, what: string): Record<string, unknown> {
  const manifests = (Array.isArray(index.manifests) ? index.manifests : []).filter(isRecord);
  const arch = hostArchitecture();
  const matching = manifests.find((m) => {
    const platform = isRecord(m.platform) ? m.platform : {};
    return platform.os === 'linux' && platform.architecture === arch;
  });
  const chosen = matching ?? (manifests.length === 1 ? manifests[0] : undefined);
  if (!chosen) throw new InvalidArgumentError(`${what}: no manifest for linux/${arch}`);
  return chosen;
}
