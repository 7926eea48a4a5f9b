import type { Readable } from 'node:stream';
import type {
  ImageConfigBlob,
  ImageDeleteResponseItem,
  ImageHistoryResponseItem,
  ImageRuntimeConfig,
} from '../../api/index.js';
import type { EventSink } from '../events.js';

/** What the daemon keeps about one image; server/ turns it into ImageSummary / ImageInspect. */
export interface ImageRecord {
  /** `sha256:<hex>`: the digest of the config blob, as Docker's image id. */
  id: string;
  /** `name:tag`, normalized as Docker shows them (`busybox:latest`, `reg:5000/a/b:1`). */
  repoTags: string[];
  /** `name@sha256:...`, filled by pulls and pushes (a later issue). */
  repoDigests: string[];
  config: ImageConfigBlob;
  /** Digest of the manifest we keep for the image (one is made on import and load). */
  manifestDigest: string;
  /** Sum of the unpacked layer sizes, in bytes. */
  size: number;
  /** RFC 3339; config.created, else the time the image arrived. */
  created: string;
  /** RFC 3339 time of the last tag, '' when never tagged. */
  lastTagTime: string;
  /** Parent image id for images made by commit/build, else ''. */
  parent: string;
}

export interface ImportOptions {
  repo?: string;
  tag?: string;
  /** Dockerfile instructions applied to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL. */
  changes?: string[];
  message?: string;
  platform?: string;
}

/** A new image from a container's writable layer (`docker commit`). */
export interface CommitOptions {
  containerId: string;
  /** The container's image: the new image's parent, whose layers it keeps. */
  imageId: string;
  /** The new image's runtime config, before `changes`. */
  config: ImageRuntimeConfig;
  /** Dockerfile instructions applied to `config`, as in ImportOptions. */
  changes?: string[];
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** The history entry's created_by: the container's command line. */
  createdBy?: string;
}

/** A new image that only changes its parent's config (a metadata-only build step): no new layer. */
export interface ConfigImageOptions {
  /** The parent image id; none for an image with no layers (`FROM scratch`). */
  parentId?: string;
  /** The new image's runtime config, whole. */
  config: ImageRuntimeConfig;
  /** The history entry's created_by, marked `empty_layer`. */
  createdBy: string;
  /** The image's author (MAINTAINER). */
  author?: string;
}

export interface RemoveOptions {
  force?: boolean;
  noprune?: boolean;
  /** Returns the id of a container using the image, if any (removal then gives a ConflictError unless forced). */
  usedBy: (imageId: string) => string | undefined;
  /**
   * Whether that container runs: Docker refuses even a forced delete under a running
   * container but lets force delete under a stopped one. Without it, every user counts as running.
   */
  isRunning?: (containerId: string) => boolean;
}

export interface PruneOptions {
  /** Only untagged images (Docker's default); false removes every image no container uses. */
  danglingOnly: boolean;
  /** `label=`, `label!=`, `until=` filters, as Docker parses them. */
  filters?: Record<string, string[]>;
  usedBy: (imageId: string) => string | undefined;
}

export interface ListOptions {
  all?: boolean;
  /** Docker's filters: dangling, label, reference, before, since. */
  filters?: Record<string, string[]>;
}

/**
 * Images: content-addressed blobs, names, and unpacked layers.
 * Every method that takes a reference accepts `name[:tag]`, `name@digest`, a full id
 * (`sha256:...`) or a unique id prefix, and throws NotFoundError(`No such image: REF`).
 * Bad archives throw InvalidArgumentError and leave the store as it was.
 */
export interface ImageService extends BlobService {
  list(opts?: ListOptions): Promise<ImageRecord[]>;
  resolve(ref: string): Promise<ImageRecord>;
  /** docker-save (legacy and OCI-layout) tarballs; returns docker's lines: `Loaded image: busybox:latest` or `Loaded image ID: sha256:...`. */
  load(tar: Readable, signal?: AbortSignal): Promise<string[]>;
  /** A tarball `docker load` reads back: OCI layout plus docker's manifest.json and repositories. */
  save(refs: string[]): Promise<Readable>;
  /** A root filesystem tarball (optionally gzip) as a one-layer image. */
  importRootfs(tar: Readable, opts: ImportOptions): Promise<ImageRecord>;
  tag(ref: string, repo: string, tag?: string): Promise<void>;
  remove(ref: string, opts: RemoveOptions): Promise<ImageDeleteResponseItem[]>;
  prune(opts: PruneOptions): Promise<{ deleted: ImageDeleteResponseItem[]; spaceReclaimed: number }>;
  history(ref: string): Promise<ImageHistoryResponseItem[]>;
  /**
   * Makes an image of the parent's layers plus one layer holding what the container
   * changed (whiteouts and opaque dirs included). NotFoundError for an unknown
   * container or parent; InvalidArgumentError for a bad change, repo or tag.
   */
  commit(opts: CommitOptions): Promise<ImageRecord>;
  /** An image with the parent's layers and a new config (NotFoundError for an unknown parent). */
  createFromConfig(opts: ConfigImageOptions): Promise<ImageRecord>;
  /** Registry pulls: the image a manifest describes, its blobs already written with writeBlob. */
  createFromRegistry(plan: RegistryImagePlan): Promise<{ image: ImageRecord; isTagUpdated: boolean }>;
  /** Records `name@sha256:...` for an image (after a push). */
  addRepoDigest(ref: string, repoDigest: string): Promise<void>;
}

/**
 * Blobs by digest, for registry transfers. A written blob becomes visible only once its
 * content matched its digest; until an image names it, only a hold keeps it from collection.
 */
export interface BlobService {
  hasBlob(digest: string): Promise<boolean>;
  /** Streams `source` in; InvalidArgumentError (and nothing stored) when it is not `digest`. Returns its size. */
  writeBlob(source: Readable, digest: string, signal?: AbortSignal): Promise<number>;
  /** NotFoundError when absent. */
  openBlob(digest: string): Promise<{ stream: Readable; size: number }>;
  readBlob(digest: string): Promise<Buffer>;
  /** Keeps blobs from being collected until the returned release is called. */
  holdBlobs(digests: readonly string[]): () => void;
}

/** What a pull hands the image store once the manifest, config and layer blobs are in. */
export interface RegistryImagePlan {
  /** The platform's image manifest as the registry served it. */
  manifest: { bytes: Buffer; digest: string };
  configBytes: Buffer;
  /** Layer blobs, bottom first, each already written with writeBlob. */
  layers: { digest: string; mediaType: string }[];
  /** Familiar `name:tag` to point at the image; none for a pull by digest. */
  tag?: string;
  /** Familiar `name@sha256:...` to record in RepoDigests. */
  repoDigest: string;
  /** Called as each layer is unpacked, for progress. */
  onLayer?: (digest: string, phase: 'extracting' | 'complete') => void;
}

/**
 * Container root filesystems: a writable overlay layer on top of an image's layers.
 * Lifecycle: create (at container create) -> mount (at start; idempotent) ->
 * unmount (after exit; idempotent) -> remove (at container remove).
 */
export interface RootfsService {
  create(containerId: string, imageId: string): Promise<void>;
  /** Mounts the container's root filesystem on `target` (an empty directory it creates). */
  mount(containerId: string, target: string): Promise<void>;
  unmount(target: string): Promise<void>;
  remove(containerId: string): Promise<void>;
  /** Bytes in the container's writable layer. */
  sizeRw(containerId: string): Promise<number>;
  /** Absolute paths of the container's overlay upper dir and of the image layers below it, top first. */
  layout(containerId: string): { upperDir: string; lowerDirs: string[] };
}

export interface ImageStoreOptions {
  /** The daemon's data root; images use content/, snapshots/ and images/ under it. */
  root: string;
  events: EventSink;
}
