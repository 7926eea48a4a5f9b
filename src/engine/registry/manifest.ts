import { InvalidArgumentError, NotFoundError } from '../../api/index.js';
import { hostArchitecture } from '../image/index.js';

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Every manifest kind we read, for the Accept header. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

/** Docker's own limit on a manifest's size (moby distribution, 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export type ParsedManifest =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

function descriptorOf(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null)
    throw new InvalidArgumentError(`${what}: invalid descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !DIGEST_RE.test(d.digest)) {
    throw new InvalidArgumentError(`${what}: unsupported digest ${String(d.digest)}`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new InvalidArgumentError(`${what}: invalid size`);
  }
  const out: Descriptor = { mediaType: String(d.mediaType ?? ''), digest: d.digest, size: d.size };
  if (typeof d.platform === 'object' && d.platform !== null)
    out.platform = d.platform as Descriptor['platform'] & {};
  return out;
}

/** Reads an image manifest or an index; `contentType` is what the registry said it is. */
export function parseManifest(bytes: Buffer, contentType: string, what: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgumentError(`${what}: invalid manifest JSON`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null) throw new InvalidArgumentError(`${what}: not a manifest`);
  const mediaType =
    typeof doc.mediaType === 'string' ? doc.mediaType : (contentType.split(';')[0]?.trim() ?? '');
  if (
    mediaType === OCI_INDEX ||
    mediaType === DOCKER_MANIFEST_LIST ||
    (Array.isArray(doc.manifests) && !doc.config)
  ) {
    const manifests = (Array.isArray(doc.manifests) ? doc.manifests : []).map((m) => descriptorOf(m, what));
    return { kind: 'index', manifests };
  }
  if (doc.schemaVersion === 1 || mediaType.includes('distribution.manifest.v1')) {
    throw new InvalidArgumentError(
      `${what}: Docker Image Format v1 and Docker Image manifest version 2, schema 1 are not supported`,
    );
  }
  if (!Array.isArray(doc.layers) || doc.config === undefined) {
    throw new InvalidArgumentError(`${what}: unsupported manifest media type ${mediaType}`);
  }
  const config = descriptorOf(doc.config, what);
  const layers = doc.layers.map((l) => descriptorOf(l, what));
  for (const layer of layers) {
    if (!LAYER_TYPES.has(layer.mediaType)) {
      throw new InvalidArgumentError(
        `${what}: layer ${layer.digest}: unsupported media type ${layer.mediaType}`,
      );
    }
  }
  return { kind: 'image', mediaType: mediaType || OCI_MANIFEST, config, layers };
}

/** Picks linux on this machine's architecture, as `docker pull` does without --platform. */
export function selectPlatform(manifests: readonly Descriptor[], name: string): Descriptor {
  const arch = hostArchitecture();
  const candidates = manifests.filter((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
  // An arm64 host prefers v8; amd64 entries rarely carry a variant at all.
  const chosen = candidates.find((m) => !m.platform?.variant || m.platform.variant === 'v8') ?? candidates[0];
  if (!chosen) {
    throw new NotFoundError(`no matching manifest for linux/${arch} in the manifest list entries of ${name}`);
  }
  return chosen;
}
