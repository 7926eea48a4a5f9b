import { InvalidArgumentError, NotFoundError, UnauthorizedError } from '../../api/index.js';
import {
  familiarName,
  familiarString,
  type ImageRecord,
  type ImageReference,
  type ImageService,
} from '../image/index.js';
import type { BlobSources } from './blob-sources.js';
import { sha256Of } from './digest.js';
import {
  type Descriptor,
  MANIFEST_ACCEPT,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseManifest,
  selectPlatform,
} from './manifest.js';
import type { PartialBlobs } from './partial-blobs.js';
import { byteCounter, type ProgressSink, runBounded, shortDigest } from './progress.js';
import { downloadResumable } from './resumable-download.js';
import {
  errorOfStatus,
  type RegistrySession,
  readErrorBody,
  readLimited,
  registryErrorText,
} from './transport.js';

/** dockerd's default --max-concurrent-downloads. */
const MAX_CONCURRENT_DOWNLOADS = 3;

export type PullImages = Pick<ImageService, 'hasBlob' | 'writeBlob' | 'holdBlobs' | 'createFromRegistry'>;

/** Downloads in flight by digest: two pulls that share a layer fetch it once. */
export type SharedDownloads = Map<string, Promise<void>>;

export interface PullJob {
  ref: ImageReference;
  session: RegistrySession;
  images: PullImages;
  downloads: SharedDownloads;
  /** Where broken-off layer downloads wait to be resumed. */
  partial: PartialBlobs;
  /** Told which repository holds each layer, for later pushes to mount them from. */
  sources: BlobSources;
  progress: ProgressSink;
  signal?: AbortSignal;
}

interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  contentType: string;
}

/**
 * Pulls one image: resolves the tag or digest to a manifest (choosing this platform
 * from an index), fetches config and layers, each verified against its digest while it
 * streams to disk, then has the image store unpack and name it.
 */
export async function pullImage(job: PullJob): Promise<ImageRecord> {
  const { ref, images, progress } = job;
  const scope = `repository:${ref.path}:pull`;
  const wanted = ref.digest ?? ref.tag ?? 'latest';
  const top = await fetchManifest(job, wanted, scope);
  let manifest = top;
  let parsed = parseManifest(top.bytes, top.contentType, `manifest ${top.digest}`);
  if (parsed.kind === 'index') {
    const chosen = selectPlatform(parsed.manifests, familiarString(ref));
    manifest = await fetchManifest(job, chosen.digest, scope);
    parsed = parseManifest(manifest.bytes, manifest.contentType, `manifest ${manifest.digest}`);
    if (parsed.kind === 'index')
      throw new InvalidArgumentError(`manifest ${manifest.digest}: an index inside an index`);
  }
  const { config, layers } = parsed;
  progress({ status: `Pulling from ${ref.path}`, id: wanted });

  const release = images.holdBlobs(layers.map((l) => l.digest));
  try {
    const configBytes = await fetchConfig(job, config, scope);
    const present = await Promise.all(layers.map((l) => images.hasBlob(l.digest)));
    const fetched = new Set<string>();
    layers.forEach((layer, i) => {
      const id = shortDigest(layer.digest);
      if (present[i]) progress({ status: 'Already exists', progressDetail: {}, id });
      else progress({ status: 'Pulling fs layer', progressDetail: {}, id });
    });
    const missing = layers.filter((_, i) => !present[i]);
    await runBounded(missing, MAX_CONCURRENT_DOWNLOADS, async (layer) => {
      await downloadShared(job, layer, scope);
      fetched.add(layer.digest);
    });
    // The registry took the manifest, so this repository holds every layer it names.
    const here = { host: job.session.domain, repository: ref.path };
    await Promise.all(layers.map((l) => job.sources.add(l.digest, here)));
    const tag = ref.tag !== undefined && ref.digest === undefined ? familiarString(ref) : undefined;
    const { image, isTagUpdated } = await images.createFromRegistry({
      manifest: { bytes: manifest.bytes, digest: manifest.digest },
      configBytes,
      layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType })),
      ...(tag !== undefined ? { tag } : {}),
      repoDigest: `${familiarName(ref)}@${top.digest}`,
      onLayer: (digest, phase) => {
        if (!fetched.has(digest)) return;
        const id = shortDigest(digest);
        const size = layers.find((l) => l.digest === digest)?.size ?? 0;
        if (phase === 'extracting') {
          progress({ status: 'Extracting', progressDetail: { current: size, total: size }, id });
        } else {
          progress({ status: 'Pull complete', progressDetail: {}, id });
        }
      },
    });
    progress({ status: `Digest: ${top.digest}` });
    const isNew = ref.digest !== undefined ? fetched.size > 0 : isTagUpdated;
    progress({
      status: isNew
        ? `Status: Downloaded newer image for ${familiarString(ref)}`
        : `Status: Image is up to date for ${familiarString(ref)}`,
    });
    return image;
  } finally {
    release();
  }
}

async function fetchManifest(job: PullJob, reference: string, scope: string): Promise<FetchedManifest> {
  const { ref, session, signal } = job;
  const res = await session.fetch(
    {
      method: 'GET',
      path: `/v2/${ref.path}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      ...(signal ? { signal } : {}),
    },
    scope,
  );
  if (!res.ok) {
    const text = registryErrorText(await readErrorBody(res), res.status);
    const name = `${familiarName(ref)}:${reference}`.replace(/:sha256:/, '@sha256:');
    if (res.status === 404) throw new NotFoundError(`manifest for ${name} not found: ${text}`);
    if (res.status === 401 || res.status === 403) {
      throw new UnauthorizedError(
        `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${text}`,
      );
    }
    throw errorOfStatus(res.status, text);
  }
  const bytes = await readLimited(res, MAX_MANIFEST_BYTES);
  const digest = sha256Of(bytes);
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw new InvalidArgumentError(`manifest verification failed for digest ${reference}`);
  }
  return { bytes, digest, contentType: res.headers.get('content-type') ?? '' };
}

async function fetchBlob(job: PullJob, digest: string, scope: string, offset = 0): Promise<Response> {
  const res = await job.session.fetch(
    {
      method: 'GET',
      path: `/v2/${job.ref.path}/blobs/${digest}`,
      ...(offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {}),
      ...(job.signal ? { signal: job.signal } : {}),
    },
    scope,
  );
  // 416 for a range is the downloader's to handle: it starts over.
  if (!res.ok && !(offset > 0 && res.status === 416)) {
    const text = registryErrorText(await readErrorBody(res), res.status);
    throw errorOfStatus(res.status, `error pulling blob ${digest}: ${text}`);
  }
  return res;
}

async function fetchConfig(job: PullJob, config: Descriptor, scope: string): Promise<Buffer> {
  if (config.size > MAX_CONFIG_BYTES) throw new InvalidArgumentError(`config ${config.digest} is too large`);
  const bytes = await readLimited(await fetchBlob(job, config.digest, scope), MAX_CONFIG_BYTES);
  if (sha256Of(bytes) !== config.digest) {
    throw new InvalidArgumentError(`config ${config.digest}: digest mismatch: content is ${sha256Of(bytes)}`);
  }
  return bytes;
}

/** One download per digest at a time, whichever pull asked first. */
async function downloadShared(job: PullJob, layer: Descriptor, scope: string): Promise<void> {
  const id = shortDigest(layer.digest);
  for (let running = job.downloads.get(layer.digest); running; running = job.downloads.get(layer.digest)) {
    job.progress({ status: 'Waiting', progressDetail: {}, id });
    try {
      await running;
      job.progress({ status: 'Download complete', progressDetail: {}, id });
      return;
    } catch (e) {
      // The other pull's failure (its client went away, say) is not ours: fetch it ourselves.
      if (job.signal?.aborted) throw e;
    }
  }
  const download = downloadLayer(job, layer, scope);
  job.downloads.set(layer.digest, download);
  try {
    await download;
  } finally {
    job.downloads.delete(layer.digest);
  }
}

async function downloadLayer(job: PullJob, layer: Descriptor, scope: string): Promise<void> {
  const id = shortDigest(layer.digest);
  await downloadResumable({
    digest: layer.digest,
    size: layer.size,
    partial: job.partial,
    request: (offset) => fetchBlob(job, layer.digest, scope, offset),
    store: async (source) => {
      await job.images.writeBlob(source, layer.digest, job.signal);
    },
    onAttempt: () => byteCounter(job.progress, id, 'Downloading', layer.size),
    onRetryWait: (seconds) =>
      job.progress({
        status: `Retrying in ${seconds} second${seconds === 1 ? '' : 's'}`,
        progressDetail: {},
        id,
      }),
    ...(job.signal ? { signal: job.signal } : {}),
  });
  job.progress({ status: 'Verifying Checksum', progressDetail: {}, id });
  job.progress({ status: 'Download complete', progressDetail: {}, id });
}
