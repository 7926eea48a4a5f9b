import { RegistryError } from './errors.js';
import { formatDigest, parseDigest } from './names.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** The spec asks registries to accept manifests of at least 4 MiB; we take exactly that. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** What a referrers listing says of a manifest, as the spec shapes it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The parts of a pushed manifest the registry acts on. */
export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs an image manifest needs in the repository (config and distributable layers). */
  blobs: string[];
  /** Manifests an index lists. */
  children: string[];
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `manifest invalid: ${message}`, detail);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptorDigest(v: unknown, where: string): string {
  if (!isObject(v) || typeof v.digest !== 'string') throw invalid(`${where} is not a descriptor`);
  if (typeof v.size !== 'number' || !Number.isInteger(v.size) || v.size < 0) {
    throw invalid(`${where} has no valid size`);
  }
  try {
    return formatDigest(parseDigest(v.digest));
  } catch {
    throw invalid(`${where} has an invalid digest`, { digest: v.digest });
  }
}

function descriptors(v: unknown, where: string): Json[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`${where} is not a list`);
  return v.map((d, i) => {
    descriptorDigest(d, `${where}[${i}]`);
    return d as Json;
  });
}

/** Layers that live outside registries (Windows base layers) are not required to be pushed. */
function isForeign(layer: Json): boolean {
  return typeof layer.mediaType === 'string' && /foreign|nondistributable/.test(layer.mediaType);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * Checks a pushed manifest or index and extracts what it references. `contentType` is
 * the request's Content-Type without parameters (empty when absent). MANIFEST_INVALID
 * for anything that is not a schema 2 image manifest or index.
 */
export function parseManifest(bytes: Uint8Array, contentType: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  if (!isObject(doc)) throw invalid('not a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const sent = contentType === '' || contentType === 'application/json' ? undefined : contentType;
  if (declared !== undefined && sent !== undefined && declared !== sent) {
    throw invalid(`mediaType ${declared} does not match Content-Type ${sent}`);
  }
  const kind = Array.isArray(doc.manifests) ? 'index' : 'image';
  const mediaType = sent ?? declared ?? (kind === 'index' ? OCI_INDEX : OCI_MANIFEST);
  const parsed: ParsedManifest = { mediaType, kind, blobs: [], children: [] };
  if (kind === 'index') {
    parsed.children = descriptors(doc.manifests, 'manifests').map((d) => String(d.digest));
  } else {
    if (doc.config === undefined) throw invalid('no config');
    parsed.blobs.push(descriptorDigest(doc.config, 'config'));
    for (const layer of descriptors(doc.layers, 'layers')) {
      if (!isForeign(layer)) parsed.blobs.push(String(layer.digest));
    }
  }
  if (doc.subject !== undefined) parsed.subject = descriptorDigest(doc.subject, 'subject');
  const configType =
    isObject(doc.config) && typeof doc.config.mediaType === 'string' ? doc.config.mediaType : '';
  const artifactType =
    typeof doc.artifactType === 'string' && doc.artifactType !== '' ? doc.artifactType : '';
  if (artifactType !== '') parsed.artifactType = artifactType;
  else if (kind === 'image' && configType !== '') parsed.artifactType = configType;
  const annotations = stringMap(doc.annotations);
  if (annotations !== undefined) parsed.annotations = annotations;
  return parsed;
}
