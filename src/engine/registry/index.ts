import { InvalidArgumentError } from '../../api/index.js';
import { type ImageRecord, type ImageService, parseReference, withDefaultTag } from '../image/index.js';
import type { RegistryCredentials } from './auth.js';
import { BlobSources } from './blob-sources.js';
import { checkLogin } from './login.js';
import { mirrorSession, parseMirror } from './mirror.js';
import { PartialBlobs } from './partial-blobs.js';
import type { ProgressSink } from './progress.js';
import { pullImage, type SharedDownloads } from './pull.js';
import { pushTag, tagsToPush } from './push.js';
import { type RegistryOptions, RegistrySession } from './transport.js';

export {
  credentialsOf,
  parseRegistryAuthHeader,
  parseRegistryConfigHeader,
  type RegistryCredentials,
} from './auth.js';
export type { ProgressMessage, ProgressSink } from './progress.js';
export type { RegistryOptions } from './transport.js';

export interface TransferOptions {
  credentials: RegistryCredentials;
  /** Progress lines; a failure is thrown, not reported here. */
  progress: ProgressSink;
  signal?: AbortSignal;
}

/**
 * The distribution client: pulls and pushes between the image store and registries
 * that speak the OCI distribution spec or Docker's registry API.
 */
export interface RegistryService {
  /** `image` is `name[:tag|@digest]`; `tag` (a tag or a digest) overrides. InvalidArgumentError on a bad reference. */
  pull(image: string, tag: string | undefined, opts: TransferOptions): Promise<ImageRecord>;
  /** Pushes `name:tag`, or every local tag of `name` when no tag is given; NotFoundError when none exists. */
  push(name: string, tag: string | undefined, opts: TransferOptions): Promise<void>;
  /** Checks credentials against a registry; UnauthorizedError when it refuses them. */
  login(serverAddress: string | undefined, credentials: RegistryCredentials): Promise<void>;
}

export async function createRegistryService(deps: {
  images: ImageService;
  options: RegistryOptions;
  /** Where broken-off layer downloads are kept to be resumed (under the data root). */
  partialDir: string;
  /** Where the repositories each blob was seen in are kept, for cross-repository mounts (under the data root). */
  blobSourcesDir: string;
  /** `--registry-mirror` URLs: tried in order for Docker Hub pulls, before Docker Hub. */
  mirrors?: readonly string[];
  /** Told when a mirror fails and the pull moves on to the next place. */
  log?: { info(fields: object, message: string): void };
}): Promise<RegistryService> {
  const downloads: SharedDownloads = new Map();
  const mirrors = (deps.mirrors ?? []).map(parseMirror);
  const partial = await PartialBlobs.open(deps.partialDir);
  const sources = await BlobSources.open(deps.blobSourcesDir);
  const session = (domain: string, creds: RegistryCredentials) =>
    new RegistrySession(domain, creds, deps.options);
  return {
    async pull(image, tag, opts) {
      const text = tag ? `${image}${tag.startsWith('sha256:') ? '@' : ':'}${tag}` : image;
      const ref = withDefaultTag(parseReference(text));
      const pullFrom = (from: RegistrySession) =>
        pullImage({
          ref,
          session: from,
          images: deps.images,
          downloads,
          partial,
          sources,
          progress: opts.progress,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      // Only Docker Hub is mirrored, as dockerd; any failure at a mirror moves on to the next.
      if (ref.domain === 'docker.io') {
        for (const mirror of mirrors) {
          try {
            return await pullFrom(mirrorSession(mirror, opts.credentials, deps.options));
          } catch (e) {
            if (opts.signal?.aborted) throw e;
            deps.log?.info(
              { mirror: mirror.host, err: e },
              'pull from mirror failed; trying the next source',
            );
          }
        }
      }
      return pullFrom(session(ref.domain, opts.credentials));
    },
    async push(name, tag, opts) {
      const ref = parseReference(tag ? `${name}:${tag}` : name);
      if (ref.digest !== undefined) throw new InvalidArgumentError('cannot push a digest reference');
      const tags = await tagsToPush(ref, deps.images);
      const job = {
        ref,
        session: session(ref.domain, opts.credentials),
        images: deps.images,
        sources,
        progress: opts.progress,
        ...(opts.signal ? { signal: opts.signal } : {}),
      };
      const shown = ref.domain === 'docker.io' ? `docker.io/${ref.path}` : `${ref.domain}/${ref.path}`;
      opts.progress({ status: `The push refers to repository [${shown}]` });
      for (const t of tags) await pushTag(job, t);
    },
    login: (serverAddress, credentials) => checkLogin(serverAddress, credentials, deps.options),
  };
}
