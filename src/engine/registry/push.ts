import { type Readable, Transform } from 'node:stream';
import { NotFoundError } from '../../api/index.js';
import { familiarName, familiarString, type ImageReference, type ImageService } from '../image/index.js';
import { sha256Of } from './digest.js';
import { type Descriptor, parseManifest } from './manifest.js';
import { byteCounter, type ProgressSink, runBounded, shortDigest } from './progress.js';
import { errorOfStatus, type RegistrySession, readErrorBody, registryErrorText } from './transport.js';

/** dockerd's default --max-concurrent-uploads. */
const MAX_CONCURRENT_UPLOADS = 5;

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
 * Pushes one tag: every blob the registry lacks (HEAD first), then the manifest we
 * keep for the image, unchanged, so the digest the registry reports is ours.
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
      if (await blobExists(job, layer.digest, scope)) {
        progress({ status: 'Layer already exists', progressDetail: {}, id });
        return;
      }
      await uploadBlob(job, layer.digest, scope, id);
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

/** A monolithic upload: open a session, then PUT the whole blob with its digest. */
async function uploadBlob(job: PushJob, digest: string, scope: string, progressId?: string): Promise<void> {
  const { session, signal } = job;
  const started = await session.fetch(
    { method: 'POST', path: `/v2/${job.ref.path}/blobs/uploads/`, ...(signal ? { signal } : {}) },
    scope,
  );
  if (started.status !== 202) {
    throw errorOfStatus(started.status, registryErrorText(await readErrorBody(started), started.status));
  }
  await started.body?.cancel();
  const location = started.headers.get('location');
  if (!location) throw errorOfStatus(502, `registry gave no upload location for ${digest}`);
  const url = new URL(location, session.baseUrl);
  url.searchParams.set('digest', digest);
  const { stream, size } = await job.images.openBlob(digest);
  let body: Readable = stream;
  let finish = (): void => undefined;
  if (progressId !== undefined) {
    const counter = byteCounter(job.progress, progressId, 'Pushing', size);
    finish = () => counter.finish();
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        counter.add(chunk.length);
        done(null, chunk);
      },
    });
    stream.once('error', (e) => counting.destroy(e));
    body = stream.pipe(counting);
  }
  const res = await session.fetch(
    {
      method: 'PUT',
      path: url.toString(),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body,
      ...(signal ? { signal } : {}),
    },
    scope,
  );
  if (res.status !== 201 && res.status !== 204 && res.status !== 202) {
    throw errorOfStatus(res.status, registryErrorText(await readErrorBody(res), res.status));
  }
  await res.body?.cancel();
  finish();
}
