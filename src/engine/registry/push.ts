import { type Readable, Transform } from 'node:stream';
import { ForbiddenError, InvalidArgumentError, NotFoundError, UnauthorizedError } from '../../api/index.js';
import { familiarName, familiarString, type ImageReference, type ImageService } from '../image/index.js';
import type { BlobSource, BlobSources } from './blob-sources.js';
import { sha256Of } from './digest.js';
import { type Descriptor, parseManifest } from './manifest.js';
import { byteCounter, type ProgressSink, runBounded, shortDigest } from './progress.js';
import { errorOfStatus, type RegistrySession, readErrorBody, registryErrorText } from './transport.js';

/** dockerd's default --max-concurrent-uploads. */
const MAX_CONCURRENT_UPLOADS = 5;
/** dockerd's cap on the repositories a layer's mount is tried from before it is uploaded. */
const MAX_MOUNT_ATTEMPTS = 3;

export type PushImages = Pick<
  ImageService,
  'list' | 'resolve' | 'openBlob' | 'readBlob' | 'holdBlobs' | 'addRepoDigest'
>;

export interface PushJob {
  /** The repository, with the tag to push; without one, every local tag of the repository. */
  ref: ImageReference;
  session: RegistrySession;
  images: PushImages;
  progress: ProgressSink;
  signal?: AbortSignal;
  /** Where blobs were seen: mount sources for the layers, updated with what this push learns. */
  sources: BlobSources;
  /** Blobs above this many bytes go up in chunks of it; PUSH_CHUNK_BYTES by default. */
  chunkBytes?: number;
}

/** The tags a push sends: the one named, or all of the repository's, as `docker push --all-tags`. */
export async function tagsToPush(ref: ImageReference, images: Pick<ImageService, 'list'>): Promise<string[]> {
  const name = familiarName(ref);
  if (ref.tag !== undefined) {
    const tagged = familiarString({ ...ref, tag: ref.tag });
    const all = await images.list({ all: true });
    if (!all.some((i) => i.repoTags.includes(tagged))) {
      throw new NotFoundError(`An image does not exist locally with the tag: ${name}`);
    }
    return [ref.tag];
  }
  const tags: string[] = [];
  for (const image of await images.list({ all: true })) {
    for (const repoTag of image.repoTags) {
      const colon = repoTag.lastIndexOf(':');
      if (repoTag.slice(0, colon) === name) tags.push(repoTag.slice(colon + 1));
    }
  }
  if (tags.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${name}`);
  return tags.sort();
}

/**
 * Pushes one tag: every blob the registry lacks (HEAD first), a layer mounted from
 * another repository of the registry when one is known to hold it, then the manifest
 * we keep for the image, unchanged, so the digest the registry reports is ours.
 */
export async function pushTag(job: PushJob, tag: string): Promise<{ digest: string; size: number }> {
  const { ref, images, progress } = job;
  const scope = `repository:${ref.path}:pull,push`;
  const local = familiarString({ ...ref, tag });
  const image = await images.resolve(local);
  const manifestBytes = await images.readBlob(image.manifestDigest);
  const parsed = parseManifest(manifestBytes, '', `manifest ${image.manifestDigest}`);
  if (parsed.kind !== 'image')
    throw new NotFoundError(`An image does not exist locally with the tag: ${local}`);
  const release = images.holdBlobs([...parsed.layers.map((l) => l.digest), parsed.config.digest]);
  try {
    const diffIds = image.config.rootfs.diff_ids;
    const idOf = (i: number): string => shortDigest(diffIds[i] ?? parsed.layers[i]?.digest ?? '');
    // docker lists the top layer first.
    const order = parsed.layers.map((_, i) => i).reverse();
    for (const i of order) progress({ status: 'Preparing', progressDetail: {}, id: idOf(i) });
    await runBounded(order, MAX_CONCURRENT_UPLOADS, async (i) => {
      const layer = parsed.layers[i] as Descriptor;
      const id = idOf(i);
      const here: BlobSource = { host: job.session.domain, repository: ref.path };
      if (await blobExists(job, layer.digest, scope)) {
        await job.sources.add(layer.digest, here);
        progress({ status: 'Layer already exists', progressDetail: {}, id });
        return;
      }
      const mount = await tryMount(job, layer.digest, scope);
      if (mount.mountedFrom !== undefined) {
        await job.sources.add(layer.digest, here);
        progress({ status: `Mounted from ${mount.mountedFrom}`, progressDetail: {}, id });
        return;
      }
      await uploadBlob(job, layer.digest, scope, {
        progressId: id,
        ...(mount.upload !== undefined ? { upload: mount.upload } : {}),
      });
      await job.sources.add(layer.digest, here);
      progress({ status: 'Pushed', progressDetail: {}, id });
    });
    if (!(await blobExists(job, parsed.config.digest, scope))) {
      await uploadBlob(job, parsed.config.digest, scope);
    }
    const res = await job.session.fetch(
      {
        method: 'PUT',
        path: `/v2/${ref.path}/manifests/${tag}`,
        headers: { 'Content-Type': parsed.mediaType },
        body: manifestBytes,
        ...(job.signal ? { signal: job.signal } : {}),
      },
      scope,
    );
    if (!res.ok) throw errorOfStatus(res.status, registryErrorText(await readErrorBody(res), res.status));
    await res.body?.cancel();
    const digest = sha256Of(manifestBytes);
    progress({ status: `${tag}: digest: ${digest} size: ${manifestBytes.length}` });
    progress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifestBytes.length } });
    await images.addRepoDigest(image.id, `${familiarName(ref)}@${digest}`);
    return { digest, size: manifestBytes.length };
  } finally {
    release();
  }
}

async function blobExists(job: PushJob, digest: string, scope: string): Promise<boolean> {
  const res = await job.session.fetch(
    {
      method: 'HEAD',
      path: `/v2/${job.ref.path}/blobs/${digest}`,
      ...(job.signal ? { signal: job.signal } : {}),
    },
    scope,
  );
  await res.body?.cancel();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw errorOfStatus(res.status, headErrorText(res.status));
}

function headErrorText(status: number): string {
  // A HEAD answer has no body to quote; say what the registry's code would have.
  if (status === 401) return 'unauthorized: authentication required';
  if (status === 403) return 'denied: requested access to the resource is denied';
  return `unexpected status from registry: ${status}`;
}

/**
 * Blobs up to this size go up in one PUT; bigger ones in chunks of this size (a PATCH
 * each, with Content-Range), so no request carries more than this and a registry or
 * proxy with a body limit still takes big layers. 8 MiB is a few seconds on a slow link
 * and a small fraction of the time on a fast one.
 */
export const PUSH_CHUNK_BYTES = 8 * 1024 * 1024;
/** How long the cancel of a failed upload may take before it is given up. */
const CANCEL_TIMEOUT_MS = 5_000;

/** What a mount attempt left: the repository mounted from, or an upload the registry opened instead. */
interface MountOutcome {
  mountedFrom?: string;
  upload?: URL;
}

/**
 * Tries to mount `digest` into the target repository from repositories of the same
 * registry known to hold it, as dockerd does. 201 is a mount; 202 is the registry
 * declining it and opening an upload instead, which the caller continues. Any refusal
 * falls back to an upload: the sources are hints, and a registry owes us no mount.
 */
async function tryMount(job: PushJob, digest: string, scope: string): Promise<MountOutcome> {
  const { session, signal, ref } = job;
  const candidates = (await job.sources.sourcesOf(digest))
    .filter((s) => s.host === session.domain && s.repository !== ref.path)
    .slice(0, MAX_MOUNT_ATTEMPTS);
  for (const source of candidates) {
    const query = new URLSearchParams({ mount: digest, from: source.repository });
    let res: Response;
    try {
      res = await session.fetch(
        {
          method: 'POST',
          path: `/v2/${ref.path}/blobs/uploads/?${query}`,
          ...(signal ? { signal } : {}),
        },
        // A mount reads the source: the token must also grant pull on it.
        `${scope} repository:${source.repository}:pull`,
      );
    } catch (e) {
      // A token server that will not grant (or cannot read) the wider scope: upload with the usual one.
      if (isRefusal(e)) return {};
      throw e;
    }
    if (res.status === 201) {
      await res.body?.cancel();
      return { mountedFrom: source.repository };
    }
    if (res.status === 202) {
      await res.body?.cancel();
      // The source no longer has it, or the registry does not mount: not a source to try again.
      await job.sources.remove(digest, source);
      return { upload: uploadLocation(res, session, digest) };
    }
    await res.body?.cancel();
    // Denied: every other source of this registry would be too.
    if (res.status === 401 || res.status === 403) return {};
  }
  return {};
}

function isRefusal(e: unknown): boolean {
  return e instanceof UnauthorizedError || e instanceof ForbiddenError || e instanceof InvalidArgumentError;
}

/**
 * Sends the blob (monolithic or in chunks) into an upload session, the one given or a
 * new one, and closes it with its digest.
 */
async function uploadBlob(
  job: PushJob,
  digest: string,
  scope: string,
  opts: { progressId?: string; upload?: URL } = {},
): Promise<void> {
  const { progressId } = opts;
  const upload = { url: opts.upload ?? (await startUpload(job, digest, scope)) };
  try {
    await sendBlob(job, digest, scope, upload, progressId);
  } catch (e) {
    // A session left open holds the registry's space until it expires: cancel it, as far as it lets us.
    await cancelUpload(job, upload.url, scope);
    throw e;
  }
}

async function sendBlob(
  job: PushJob,
  digest: string,
  scope: string,
  upload: { url: URL },
  progressId: string | undefined,
): Promise<void> {
  const { session, signal } = job;
  const { stream, size } = await job.images.openBlob(digest);
  const counter =
    progressId !== undefined ? byteCounter(job.progress, progressId, 'Pushing', size) : undefined;
  let body: Readable | Buffer = Buffer.alloc(0);
  if (size > (job.chunkBytes ?? PUSH_CHUNK_BYTES)) {
    await uploadChunks(job, { upload, stream, digest, scope }, (bytes) => counter?.add(bytes));
  } else {
    body = counter !== undefined ? stream.pipe(countingTransform(stream, counter)) : stream;
  }
  const url = new URL(upload.url);
  url.searchParams.set('digest', digest);
  const length = Buffer.isBuffer(body) ? 0 : size;
  const res = await session.fetch(
    {
      method: 'PUT',
      path: url.toString(),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(length) },
      body,
      ...(signal ? { signal } : {}),
    },
    scope,
  );
  if (res.status !== 201 && res.status !== 204 && res.status !== 202) {
    throw errorOfStatus(res.status, registryErrorText(await readErrorBody(res), res.status));
  }
  await res.body?.cancel();
  counter?.finish();
}

/** The spec's upload cancel (`DELETE` of the session); a registry that refuses it is left as it is. */
async function cancelUpload(job: PushJob, url: URL, scope: string): Promise<void> {
  try {
    // Not the push's signal: a client that went away is a reason more to cancel.
    const res = await job.session.fetch(
      { method: 'DELETE', path: url.toString(), signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS) },
      scope,
    );
    await res.body?.cancel();
  } catch {
    // Best effort: the session expires on the registry's side anyway.
  }
}

async function startUpload(job: PushJob, digest: string, scope: string): Promise<URL> {
  const { session, signal } = job;
  const started = await session.fetch(
    { method: 'POST', path: `/v2/${job.ref.path}/blobs/uploads/`, ...(signal ? { signal } : {}) },
    scope,
  );
  if (started.status !== 202) {
    throw errorOfStatus(started.status, registryErrorText(await readErrorBody(started), started.status));
  }
  await started.body?.cancel();
  return uploadLocation(started, session, digest);
}

/**
 * Sends the blob as PATCHes of `chunkBytes` with `Content-Range: start-end`, each to the
 * Location the previous answer gave, which `upload.url` follows; the closing PUT goes to the last one.
 */
async function uploadChunks(
  job: PushJob,
  upload: { upload: { url: URL }; stream: Readable; digest: string; scope: string },
  onBytes: (bytes: number) => void,
): Promise<void> {
  const { session, signal } = job;
  const url = () => upload.upload.url;
  let offset = 0;
  for await (const chunk of chunksOf(upload.stream, job.chunkBytes ?? PUSH_CHUNK_BYTES)) {
    const end = offset + chunk.length - 1;
    const res = await session.fetch(
      {
        method: 'PATCH',
        path: url().toString(),
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${end}`,
          'Content-Length': String(chunk.length),
        },
        body: chunk,
        ...(signal ? { signal } : {}),
      },
      upload.scope,
    );
    if (res.status !== 202) {
      throw errorOfStatus(res.status, registryErrorText(await readErrorBody(res), res.status));
    }
    await res.body?.cancel();
    // The registry says how much it holds; anything else than what we sent is a lost chunk.
    const range = res.headers.get('range');
    if (range !== null && range !== `0-${end}` && range !== `bytes=0-${end}`) {
      throw errorOfStatus(502, `upload of ${upload.digest}: registry holds ${range}, sent 0-${end}`);
    }
    upload.upload.url = uploadLocation(res, session, upload.digest);
    offset = end + 1;
    onBytes(chunk.length);
  }
}

/** Cuts a stream into buffers of exactly `size` bytes, the last one shorter. */
export async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const data of stream) {
    let chunk = data as Buffer;
    while (pendingBytes + chunk.length >= size) {
      const take = size - pendingBytes;
      pending.push(chunk.subarray(0, take));
      yield Buffer.concat(pending);
      chunk = chunk.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

function uploadLocation(res: Response, session: RegistrySession, digest: string): URL {
  const location = res.headers.get('location');
  if (!location) throw errorOfStatus(502, `registry gave no upload location for ${digest}`);
  return new URL(location, session.baseUrl);
}

function countingTransform(source: Readable, counter: { add(bytes: number): void }): Transform {
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.add(chunk.length);
      done(null, chunk);
    },
  });
  source.once('error', (e) => counting.destroy(e));
  return counting;
}
