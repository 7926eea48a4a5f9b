import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ConflictError,
  type ImageConfigBlob,
  type ImageDeleteResponseItem,
  type ImageHistoryItem,
  type ImageHistoryResponseItem,
  InvalidArgumentError,
  NotFoundError,
} from '../../api/index.js';
import { unmount } from '../../platform/index.js';
import { readJsonIfExists, removeTempFiles, writeJsonAtomic } from '../../store/index.js';
import type { EventSink } from '../events.js';
import { OverlaySnapshotter } from '../snapshot/index.js';
import {
  hostArchitecture,
  type ImagePlan,
  parseImageConfig,
  planLoad,
  stageArchive,
} from './archive-load.js';
import { type SaveItem, saveArchive } from './archive-save.js';
import { applyChanges } from './changes.js';
import { stageCommit } from './commit.js';
import { ContentStore, type IngestedFile } from './content-store.js';
import { ingestLayer, type VerifiedLayer } from './layer-ingest.js';
import {
  familiarName,
  familiarString,
  type ImageReference,
  isValidTag,
  matchesReferencePattern,
  parseReference,
  parseTaggedName,
  withDefaultTag,
} from './reference.js';
import { MaybeGunzip, sha256Of } from './tar-io.js';
import type {
  CommitOptions,
  ConfigImageOptions,
  ImageRecord,
  ImageService,
  ImageStoreOptions,
  ImportOptions,
  ListOptions,
  PruneOptions,
  RegistryImagePlan,
  RemoveOptions,
  RootfsService,
} from './types.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** What images/sha256/<hex>.json holds; the config itself is a blob. */
interface ImageMeta {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  layers: { digest: string; mediaType: string; size: number }[];
  size: number;
  created: string;
  lastTagTime: string;
  parent: string;
  repoDigests: string[];
}

interface StoredImage {
  meta: ImageMeta;
  config: ImageConfigBlob;
  /** Chain id of each layer, bottom first. */
  chainIds: string[];
}

/** images/repositories.json: familiar `name:tag` -> image id. */
interface TagsFile {
  tags: Record<string, string>;
}

/** An image checked and unpacked, waiting for the commit that makes it visible. */
interface PreparedImage {
  meta: ImageMeta;
  config: ImageConfigBlob;
  chainIds: string[];
  blobs: IngestedFile[];
  layers: VerifiedLayer[];
}

/** Chain ids, as the OCI image spec defines them: each layer's id includes all below it. */
export function chainIdsOf(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const below = chain[chain.length - 1];
    chain.push(below === undefined ? diffId : sha256Of(`${below} ${diffId}`));
  }
  return chain;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * The image store: names and image records under images/, blobs under content/,
 * unpacked layers under snapshots/. Mutations run one at a time; each one writes
 * blobs, then snapshots, then records, then names, so a crash at any point leaves
 * at worst unreferenced data, which open() removes.
 */
class ImageStore implements ImageService {
  private readonly images = new Map<string, StoredImage>();
  private readonly tags = new Map<string, string>();
  /** Blobs a pull or push in progress needs: collection leaves them alone. */
  private readonly held = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly imagesDir: string,
    private readonly content: ContentStore,
    private readonly snapshots: OverlaySnapshotter,
    private readonly events: EventSink,
  ) {}

  private get recordsDir(): string {
    return join(this.imagesDir, 'sha256');
  }

  private get tagsPath(): string {
    return join(this.imagesDir, 'repositories.json');
  }

  async loadIndex(): Promise<void> {
    await mkdir(this.recordsDir, { recursive: true });
    await removeTempFiles(this.imagesDir);
    await removeTempFiles(this.recordsDir);
    for (const name of await readdir(this.recordsDir)) {
      if (!name.endsWith('.json')) continue;
      const meta = await readJsonIfExists<ImageMeta>(join(this.recordsDir, name));
      if (!meta) continue;
      const config = parseImageConfig(await this.content.read(meta.id), `image ${meta.id}`);
      const chainIds = chainIdsOf(config.rootfs.diff_ids);
      this.images.set(meta.id, { meta, config, chainIds });
    }
    const file = await readJsonIfExists<TagsFile>(this.tagsPath);
    for (const [tag, id] of Object.entries(file?.tags ?? {})) {
      if (this.images.has(id)) this.tags.set(tag, id);
    }
    // Data an interrupted load or delete left without an owner.
    await this.collectLayers();
    await this.collectBlobs();
  }

  // ---- queries ---------------------------------------------------------------------------

  async list(opts: ListOptions = {}): Promise<ImageRecord[]> {
    const filters = opts.filters ?? {};
    const allowed = new Set(['dangling', 'label', 'reference', 'before', 'since']);
    for (const key of Object.keys(filters)) {
      if (!allowed.has(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
    }
    const before = await this.timeBound(filters.before);
    const since = await this.timeBound(filters.since);
    const dangling = filters.dangling?.map((v) => {
      if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') {
        throw new InvalidArgumentError(`invalid filter 'dangling=${v}'`);
      }
      return v === 'true' || v === '1';
    });
    const parents = new Set([...this.images.values()].map((i) => i.meta.parent).filter((p) => p !== ''));
    const records: ImageRecord[] = [];
    for (const image of this.images.values()) {
      let record = this.recordOf(image);
      const isDangling = record.repoTags.length === 0;
      // Docker hides untagged parents of other images unless asked for all.
      if (!opts.all && isDangling && parents.has(record.id)) continue;
      if (dangling && !dangling.every((d) => d === isDangling)) continue;
      if (filters.label && !filters.label.every((l) => hasLabel(image.config, l))) continue;
      if (before !== undefined && !(Date.parse(record.created) < before)) continue;
      if (since !== undefined && !(Date.parse(record.created) > since)) continue;
      if (filters.reference) {
        const patterns = filters.reference;
        const repoTags = record.repoTags.filter((t) =>
          patterns.some((p) => matchesReferencePattern(p, parseReference(t))),
        );
        if (repoTags.length === 0) continue;
        record = { ...record, repoTags };
      }
      records.push(record);
    }
    return records.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  }

  async resolve(ref: string): Promise<ImageRecord> {
    return this.recordOf(this.find(ref));
  }

  async history(ref: string): Promise<ImageHistoryResponseItem[]> {
    const image = this.find(ref);
    const layerSizes = image.chainIds.map((c) => this.snapshots.layer(c)?.size ?? 0);
    const history = image.config.history ?? [];
    const rows: ImageHistoryResponseItem[] = [];
    let layer = 0;
    // A config without history still has layers to show: one row each.
    const entries: ImageHistoryItem[] = history.length > 0 ? history : layerSizes.map(() => ({}));
    for (const entry of entries) {
      const isEmpty = entry.empty_layer === true;
      rows.push({
        Id: '<missing>',
        Created: entry.created ? Math.floor(Date.parse(entry.created) / 1000) : 0,
        CreatedBy: entry.created_by ?? '',
        Tags: null,
        Size: isEmpty ? 0 : (layerSizes[layer] ?? 0),
        Comment: entry.comment ?? '',
      });
      if (!isEmpty) layer++;
    }
    rows.reverse();
    const top = rows[0];
    if (top) {
      top.Id = image.meta.id;
      const tags = this.tagsOf(image.meta.id);
      top.Tags = tags.length > 0 ? tags : null;
    }
    return rows;
  }

  // ---- names -------------------------------------------------------------------------------

  async tag(ref: string, repo: string, tag?: string): Promise<void> {
    if (tag !== undefined && tag !== '' && !isValidTag(tag))
      throw new InvalidArgumentError('invalid tag format');
    const target = parseReference(tag ? `${repo}:${tag}` : repo);
    if (target.digest !== undefined)
      throw new InvalidArgumentError('refusing to create a tag with a digest reference');
    const name = familiarString(withDefaultTag(target));
    await this.exclusive(async () => {
      const image = this.find(ref);
      await this.setTags([[name, image.meta.id]]);
      this.events({ type: 'image', action: 'tag', id: image.meta.id, attributes: { name } });
    });
  }

  // ---- load, save, import ------------------------------------------------------------------

  async load(tar: Readable, signal?: AbortSignal): Promise<string[]> {
    return this.exclusive(async () => {
      const staging = await this.content.makeIngestDir();
      const prepared: PreparedImage[] = [];
      try {
        const archive = await stageArchive(tar, staging, signal);
        const plans = await planLoad(archive);
        const named = plans.map((plan) => ({
          plan,
          names: plan.names.map((n) => familiarString(parseTaggedName(n))),
        }));
        for (const { plan } of named) prepared.push(await this.prepareImage(plan, prepared));
        await this.commitImages(prepared);
        const lines: string[] = [];
        const moves: [string, string][] = [];
        named.forEach(({ names }, i) => {
          const id = (prepared[i] as PreparedImage).meta.id;
          for (const name of names) {
            const previous = this.tags.get(name);
            if (previous !== undefined && previous !== id) {
              lines.push(
                `The image ${name} already exists, renaming the old one with ID ${previous} to empty string`,
              );
            }
            moves.push([name, id]);
            lines.push(`Loaded image: ${name}`);
          }
          if (names.length === 0) lines.push(`Loaded image ID: ${id}`);
        });
        await this.setTags(moves);
        named.forEach(({ names }, i) => {
          const id = (prepared[i] as PreparedImage).meta.id;
          for (const name of names.length > 0 ? names : [id]) {
            this.events({ type: 'image', action: 'load', id: name, attributes: { name } });
          }
        });
        return lines;
      } catch (e) {
        for (const image of prepared) for (const layer of image.layers) await layer.pending?.discard();
        throw e;
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
  }

  async save(refs: string[]): Promise<Readable> {
    const items = new Map<string, SaveItem>();
    for (const ref of refs) {
      const image = this.find(ref);
      const id = image.meta.id;
      const item = items.get(id) ?? {
        manifestDigest: image.meta.manifestDigest,
        manifestMediaType: image.meta.manifestMediaType,
        configDigest: id,
        layerDigests: image.meta.layers.map((l) => l.digest),
        repoTags: [],
      };
      items.set(id, item);
      for (const tag of this.tagsNamedBy(ref, id)) if (!item.repoTags.includes(tag)) item.repoTags.push(tag);
    }
    return saveArchive(this.content, [...items.values()]);
  }

  async importRootfs(tar: Readable, opts: ImportOptions): Promise<ImageRecord> {
    const name =
      opts.repo !== undefined && opts.repo !== ''
        ? familiarString(parseTaggedName(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo))
        : undefined;
    const runtimeConfig = applyChanges({}, opts.changes ?? []);
    const architecture = opts.platform ? platformArchitecture(opts.platform) : hostArchitecture();
    return this.exclusive(async () => {
      const gunzip = new MaybeGunzip();
      // pipe() does not carry a source failure on: without this, a broken upload would hang the ingest.
      tar.once('error', (e) => gunzip.destroy(e));
      const layerFile = await this.content.ingest(tar.pipe(gunzip));
      let prepared: PreparedImage | undefined;
      try {
        const created = new Date().toISOString();
        const config: ImageConfigBlob = {
          architecture,
          os: 'linux',
          created,
          config: runtimeConfig,
          rootfs: { type: 'layers', diff_ids: [layerFile.digest] },
          history: [
            { created, created_by: 'Imported from -', ...(opts.message ? { comment: opts.message } : {}) },
          ],
        };
        const configBytes = Buffer.from(JSON.stringify(config));
        prepared = await this.prepareImage(
          {
            config,
            configBytes,
            configDigest: sha256Of(configBytes),
            layers: [{ file: layerFile.path, digest: layerFile.digest }],
            names: [],
          },
          [],
        );
        await this.commitImages([prepared]);
      } catch (e) {
        for (const layer of prepared?.layers ?? []) await layer.pending?.discard();
        await rm(layerFile.path, { force: true });
        throw e;
      }
      const id = prepared.meta.id;
      if (name !== undefined) await this.setTags([[name, id]]);
      this.events({ type: 'image', action: 'import', id, attributes: name ? { name } : {} });
      return this.recordOf(this.stored(id));
    });
  }

  // ---- registry blobs and images ----------------------------------------------------------

  async hasBlob(digest: string): Promise<boolean> {
    return this.content.has(digest);
  }

  async writeBlob(source: Readable, digest: string, signal?: AbortSignal): Promise<number> {
    const file = await this.content.ingest(source, signal);
    try {
      await this.content.commit(file, digest);
    } catch (e) {
      await rm(file.path, { force: true });
      throw e;
    }
    return file.size;
  }

  async openBlob(digest: string): Promise<{ stream: Readable; size: number }> {
    if (!(await this.content.has(digest))) throw new NotFoundError(`blob ${digest} not found`);
    return { size: await this.content.size(digest), stream: this.content.openRead(digest) };
  }

  async readBlob(digest: string): Promise<Buffer> {
    return this.content.read(digest);
  }

  holdBlobs(digests: readonly string[]): () => void {
    for (const digest of digests) this.held.set(digest, (this.held.get(digest) ?? 0) + 1);
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      for (const digest of digests) {
        const count = (this.held.get(digest) ?? 1) - 1;
        if (count <= 0) this.held.delete(digest);
        else this.held.set(digest, count);
      }
    };
  }

  async createFromRegistry(plan: RegistryImagePlan): Promise<{ image: ImageRecord; isTagUpdated: boolean }> {
    const config = parseImageConfig(plan.configBytes, `config of manifest ${plan.manifest.digest}`);
    const configDigest = sha256Of(plan.configBytes);
    return this.exclusive(async () => {
      let image = this.images.get(configDigest);
      if (!image) {
        const prepared = await this.prepareImage(
          {
            config,
            configBytes: plan.configBytes,
            configDigest,
            manifest: plan.manifest,
            layers: plan.layers.map((l) => ({
              file: this.content.blobPath(l.digest),
              digest: l.digest,
              mediaType: l.mediaType,
              isStoredBlob: true,
            })),
            names: [],
          },
          [],
          plan.onLayer,
        );
        try {
          await this.commitImages([prepared]);
        } catch (e) {
          for (const layer of prepared.layers) await layer.pending?.discard();
          throw e;
        }
        image = this.stored(configDigest);
      }
      if (!image.meta.repoDigests.includes(plan.repoDigest)) {
        const repoDigests = [...image.meta.repoDigests, plan.repoDigest];
        image.meta = { ...image.meta, repoDigests };
        await writeJsonAtomic(
          join(this.recordsDir, `${configDigest.slice('sha256:'.length)}.json`),
          image.meta,
        );
      }
      const isTagUpdated = plan.tag !== undefined && this.tags.get(plan.tag) !== configDigest;
      if (plan.tag !== undefined && isTagUpdated) await this.setTags([[plan.tag, configDigest]]);
      this.events({
        type: 'image',
        action: 'pull',
        id: plan.tag ?? plan.repoDigest,
        attributes: { name: plan.tag ?? plan.repoDigest },
      });
      return { image: this.recordOf(this.stored(configDigest)), isTagUpdated };
    });
  }

  async addRepoDigest(ref: string, repoDigest: string): Promise<void> {
    await this.exclusive(async () => {
      const image = this.find(ref);
      if (image.meta.repoDigests.includes(repoDigest)) return;
      const repoDigests = [...image.meta.repoDigests, repoDigest];
      image.meta = { ...image.meta, repoDigests };
      await writeJsonAtomic(
        join(this.recordsDir, `${image.meta.id.slice('sha256:'.length)}.json`),
        image.meta,
      );
    });
  }

  // ---- commit ------------------------------------------------------------------------------

  async commit(opts: CommitOptions): Promise<ImageRecord> {
    const name =
      opts.repo !== undefined && opts.repo !== ''
        ? familiarString(withDefaultTag(parseTaggedName(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo)))
        : undefined;
    return this.exclusive(async () => {
      const parent = this.find(opts.imageId);
      const staged = await stageCommit(
        { content: this.content, snapshots: this.snapshots },
        { config: parent.config, chainIds: parent.chainIds, layers: parent.meta.layers },
        { ...opts, chainIdsOf },
      );
      try {
        const layers = [
          ...parent.meta.layers,
          { digest: staged.layer.digest, mediaType: staged.layer.mediaType, size: staged.layer.size },
        ];
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: { mediaType: OCI_CONFIG, digest: staged.configBlob.digest, size: staged.configBlob.size },
            layers,
          }),
        );
        const manifestBlob = await this.content.ingestBytes(manifest);
        const topChainId = staged.chainIds[staged.chainIds.length - 1] as string;
        const layerSize = staged.layer.pending?.size ?? this.snapshots.layer(topChainId)?.size ?? 0;
        await this.commitImages([
          {
            meta: {
              id: staged.configBlob.digest,
              manifestDigest: manifestBlob.digest,
              manifestMediaType: OCI_MANIFEST,
              layers,
              size: parent.meta.size + layerSize,
              created: staged.config.created ?? new Date().toISOString(),
              lastTagTime: '',
              parent: parent.meta.id,
              repoDigests: [],
            },
            config: staged.config,
            chainIds: staged.chainIds,
            blobs: [staged.layerBlob, staged.configBlob, manifestBlob],
            layers: [staged.layer],
          },
        ]);
      } catch (e) {
        await staged.discard();
        throw e;
      }
      const id = staged.configBlob.digest;
      if (name !== undefined) await this.setTags([[name, id]]);
      return this.recordOf(this.stored(id));
    });
  }

  async createFromConfig(opts: ConfigImageOptions): Promise<ImageRecord> {
    return this.exclusive(async () => {
      const parent = opts.parentId === undefined ? undefined : this.find(opts.parentId);
      const created = new Date().toISOString();
      const base: ImageConfigBlob = parent?.config ?? {
        architecture: hostArchitecture(),
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [] },
      };
      const parentHistory: ImageHistoryItem[] =
        base.history && base.history.length > 0
          ? base.history
          : base.rootfs.diff_ids.map(() => ({ created: base.created ?? created }));
      const config: ImageConfigBlob = {
        ...base,
        created,
        ...(opts.author ? { author: opts.author } : {}),
        config: opts.config,
        history: [...parentHistory, { created, created_by: opts.createdBy, empty_layer: true }],
      };
      const configBlob = await this.content.ingestBytes(Buffer.from(JSON.stringify(config)));
      const layers = parent?.meta.layers ?? [];
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: configBlob.digest, size: configBlob.size },
          layers,
        }),
      );
      const manifestBlob = await this.content.ingestBytes(manifest);
      try {
        await this.commitImages([
          {
            meta: {
              id: configBlob.digest,
              manifestDigest: manifestBlob.digest,
              manifestMediaType: OCI_MANIFEST,
              layers,
              size: parent?.meta.size ?? 0,
              created,
              lastTagTime: '',
              parent: parent?.meta.id ?? '',
              repoDigests: [],
            },
            config,
            chainIds: parent?.chainIds ?? [],
            blobs: [configBlob, manifestBlob],
            layers: [],
          },
        ]);
      } catch (e) {
        await rm(configBlob.path, { force: true });
        await rm(manifestBlob.path, { force: true });
        throw e;
      }
      return this.recordOf(this.stored(configBlob.digest));
    });
  }

  // ---- removal -----------------------------------------------------------------------------

  async remove(ref: string, opts: RemoveOptions): Promise<ImageDeleteResponseItem[]> {
    return this.exclusive(() => this.removeLocked(ref, opts));
  }

  async prune(opts: PruneOptions): Promise<{ deleted: ImageDeleteResponseItem[]; spaceReclaimed: number }> {
    const filters = opts.filters ?? {};
    for (const key of Object.keys(filters)) {
      if (!['label', 'label!', 'until', 'dangling'].includes(key))
        throw new InvalidArgumentError(`invalid filter '${key}'`);
    }
    const until = filters.until?.map(parseUntil);
    return this.exclusive(async () => {
      const deleted: ImageDeleteResponseItem[] = [];
      let spaceReclaimed = 0;
      const parents = new Set([...this.images.values()].map((i) => i.meta.parent));
      for (const image of [...this.images.values()]) {
        const id = image.meta.id;
        if (!this.images.has(id) || parents.has(id)) continue;
        if (opts.danglingOnly && this.tagsOf(id).length > 0) continue;
        if (opts.usedBy(id) !== undefined) continue;
        if (filters.label && !filters.label.every((l) => hasLabel(image.config, l))) continue;
        if (filters['label!']?.some((l) => hasLabel(image.config, l))) continue;
        if (until && !until.every((u) => Date.parse(image.meta.created) < u)) continue;
        const { records, reclaimed } = await this.deleteImage(id);
        deleted.push(...records);
        spaceReclaimed += reclaimed;
      }
      return { deleted, spaceReclaimed };
    });
  }

  /**
   * Docker's image delete (moby daemon/images/image_delete.go, API 1.41+): a name untags
   * first and deletes only with the last tag; an id deletes, with its tags. Containers
   * block as Docker says: a running one always, a stopped one unless forced.
   */
  private async removeLocked(ref: string, opts: RemoveOptions): Promise<ImageDeleteResponseItem[]> {
    const image = this.find(ref);
    const id = image.meta.id;
    const force = opts.force ?? false;
    const user = opts.usedBy(id);
    const userRunning = user !== undefined && (opts.isRunning?.(user) ?? true);
    const records: ImageDeleteResponseItem[] = [];
    const tags = this.tagsOf(id);

    if (!this.isIdReference(ref, id)) {
      const name = familiarString(withDefaultTag(parseReference(ref)));
      if (user !== undefined && tags.length === 1 && !force) {
        throw new ConflictError(
          `conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(user)} is using its referenced image ${shortId(id)}`,
        );
      }
      await this.untag([name], records);
      // A forced untag of an image a container uses leaves it dangling, as Docker does.
      if (tags.length > 1 || user !== undefined) return records;
    } else {
      if (userRunning) {
        throw new ConflictError(
          `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${shortId(user as string)}`,
        );
      }
      // Docker deletes by id without force only when at most one tag names the image.
      if (tags.length > 1 && !force) {
        throw new ConflictError(
          `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`,
        );
      }
      if (user !== undefined && !force) {
        throw new ConflictError(
          `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(user)}`,
        );
      }
    }
    if ([...this.images.values()].some((i) => i.meta.parent === id)) {
      throw new ConflictError(
        `conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`,
      );
    }
    const { records: deleted } = await this.deleteImage(id);
    records.push(...deleted);
    return records;
  }

  /** Untags, forgets the record, then removes the layers and blobs nothing else uses. */
  private async deleteImage(id: string): Promise<{ records: ImageDeleteResponseItem[]; reclaimed: number }> {
    const records: ImageDeleteResponseItem[] = [];
    await this.untag(this.tagsOf(id), records);
    const image = this.stored(id);
    await rm(join(this.recordsDir, `${id.slice('sha256:'.length)}.json`), { force: true });
    this.images.delete(id);
    this.events({ type: 'image', action: 'delete', id, attributes: { name: id } });
    records.push({ Deleted: id });
    const removed = await this.collectLayers();
    let reclaimed = 0;
    for (const layer of removed) {
      if (image.chainIds.includes(layer.chainId)) {
        records.push({ Deleted: layer.chainId });
        reclaimed += layer.size;
      }
    }
    await this.collectBlobs();
    return { records, reclaimed };
  }

  private async untag(names: readonly string[], records: ImageDeleteResponseItem[]): Promise<void> {
    const removed = names.filter((n) => this.tags.has(n));
    if (removed.length === 0) return;
    const ids = removed.map((n) => this.tags.get(n) as string);
    for (const name of removed) this.tags.delete(name);
    await this.writeTags();
    removed.forEach((name, i) => {
      records.push({ Untagged: name });
      this.events({ type: 'image', action: 'untag', id: ids[i] as string, attributes: { name } });
    });
  }

  // ---- rootfs ------------------------------------------------------------------------------

  async create(containerId: string, imageId: string): Promise<void> {
    await this.exclusive(async () => {
      const image = this.find(imageId);
      await this.snapshots.createActive(containerId, image.chainIds[image.chainIds.length - 1] ?? null);
    });
  }

  async mount(containerId: string, target: string): Promise<void> {
    await this.snapshots.mountActive(containerId, target);
  }

  async unmount(target: string): Promise<void> {
    await unmount(target);
  }

  layout(containerId: string): { upperDir: string; lowerDirs: string[] } {
    return this.snapshots.activeLayout(containerId);
  }

  async sizeRw(containerId: string): Promise<number> {
    return this.snapshots.activeSize(containerId);
  }

  /** RootfsService.remove: named so because one class serves both interfaces. */
  async removeRootfs(containerId: string): Promise<void> {
    await this.exclusive(async () => {
      await this.snapshots.removeActive(containerId);
      // Layers of an image force-deleted while this container still stood on them.
      await this.collectLayers();
    });
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Checks and unpacks an image's layers; nothing becomes visible until commitImages. */
  private async prepareImage(
    plan: ImagePlan,
    earlier: readonly PreparedImage[],
    onLayer?: RegistryImagePlan['onLayer'],
  ): Promise<PreparedImage> {
    const diffIds = plan.config.rootfs.diff_ids;
    if (diffIds.length !== plan.layers.length) {
      throw new InvalidArgumentError(
        `image ${plan.configDigest}: config has ${diffIds.length} layers, manifest ${plan.layers.length}`,
      );
    }
    const chainIds = chainIdsOf(diffIds);
    const layers: VerifiedLayer[] = [];
    const blobs: IngestedFile[] = [];
    const prepared: PreparedImage = {
      meta: undefined as unknown as ImageMeta,
      config: plan.config,
      chainIds,
      blobs,
      layers,
    };
    try {
      for (const [i, layerPlan] of plan.layers.entries()) {
        if (layerPlan.digest) onLayer?.(layerPlan.digest, 'extracting');
        const verified = await ingestLayer({
          file: layerPlan.file,
          ...(layerPlan.digest ? { digest: layerPlan.digest } : {}),
          ...(layerPlan.mediaType ? { mediaType: layerPlan.mediaType } : {}),
          diffId: diffIds[i] as string,
          chainId: chainIds[i] as string,
          parentChainId: chainIds[i - 1] ?? null,
          snapshots: this.snapshots,
        });
        layers.push(verified);
        // A pulled layer is already the blob: committing it again would move it onto itself.
        if (!layerPlan.isStoredBlob)
          blobs.push({ path: layerPlan.file, digest: verified.digest, size: verified.size });
        onLayer?.(verified.digest, 'complete');
      }
    } catch (e) {
      for (const layer of layers) await layer.pending?.discard();
      throw e;
    }
    const manifest =
      plan.manifest ??
      (() => {
        const document = {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: plan.configDigest, size: plan.configBytes.length },
          layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
        };
        const bytes = Buffer.from(JSON.stringify(document));
        return { bytes, digest: sha256Of(bytes) };
      })();
    blobs.push(await this.content.ingestBytes(plan.configBytes));
    blobs.push(await this.content.ingestBytes(manifest.bytes));
    const manifestType = (JSON.parse(manifest.bytes.toString('utf8')) as { mediaType?: string }).mediaType;
    const layerSize = (chainId: string): number =>
      this.snapshots.layer(chainId)?.size ??
      [...earlier, prepared].flatMap((p) => p.layers).find((l) => l.pending?.chainId === chainId)?.pending
        ?.size ??
      0;
    prepared.meta = {
      id: plan.configDigest,
      manifestDigest: manifest.digest,
      manifestMediaType: manifestType ?? OCI_MANIFEST,
      layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
      size: chainIds.reduce((sum, c) => sum + layerSize(c), 0),
      created: plan.config.created ?? new Date().toISOString(),
      lastTagTime: '',
      parent: '',
      repoDigests: [],
    };
    return prepared;
  }

  /** Blobs, then snapshots, then records: each step only adds things the next one names. */
  private async commitImages(prepared: readonly PreparedImage[]): Promise<void> {
    const committed = new Set<string>();
    for (const image of prepared) {
      for (const blob of image.blobs) {
        if (committed.has(blob.digest)) continue;
        await this.content.commit(blob, blob.digest);
        committed.add(blob.digest);
      }
    }
    for (const image of prepared) for (const layer of image.layers) await layer.pending?.commit();
    for (const image of prepared) {
      const existing = this.images.get(image.meta.id);
      if (existing) continue;
      await writeJsonAtomic(
        join(this.recordsDir, `${image.meta.id.slice('sha256:'.length)}.json`),
        image.meta,
      );
      this.images.set(image.meta.id, { meta: image.meta, config: image.config, chainIds: image.chainIds });
    }
  }

  /** Points each name at its image (moving it off any other) and saves names and tag times. */
  private async setTags(moves: readonly [string, string][]): Promise<void> {
    if (moves.length === 0) return;
    const now = new Date().toISOString();
    for (const [name, id] of moves) this.tags.set(name, id);
    await this.writeTags();
    for (const id of new Set(moves.map(([, id]) => id))) {
      const image = this.stored(id);
      image.meta = { ...image.meta, lastTagTime: now };
      await writeJsonAtomic(join(this.recordsDir, `${id.slice('sha256:'.length)}.json`), image.meta);
    }
  }

  private async writeTags(): Promise<void> {
    const file: TagsFile = { tags: Object.fromEntries(this.tags) };
    await writeJsonAtomic(this.tagsPath, file);
  }

  /** Removes layer snapshots no image and no container stands on; returns them. */
  private async collectLayers(): Promise<{ chainId: string; size: number }[]> {
    const used = new Set<string>();
    for (const image of this.images.values()) for (const chainId of image.chainIds) used.add(chainId);
    for (const active of this.snapshots.actives()) {
      for (const chainId of this.snapshots.chainOf(active.parent)) used.add(chainId);
    }
    const removed: { chainId: string; size: number }[] = [];
    for (const layer of this.snapshots.layers()) {
      if (used.has(layer.chainId)) continue;
      await this.snapshots.removeLayer(layer.chainId);
      removed.push({ chainId: layer.chainId, size: layer.size });
    }
    return removed;
  }

  private async collectBlobs(): Promise<void> {
    const used = new Set<string>();
    for (const { meta } of this.images.values()) {
      used.add(meta.id);
      used.add(meta.manifestDigest);
      for (const layer of meta.layers) used.add(layer.digest);
    }
    for (const digest of this.held.keys()) used.add(digest);
    for (const digest of await this.content.list()) if (!used.has(digest)) await this.content.remove(digest);
  }

  private recordOf(image: StoredImage): ImageRecord {
    const { meta } = image;
    return {
      id: meta.id,
      repoTags: this.tagsOf(meta.id),
      repoDigests: meta.repoDigests,
      config: image.config,
      manifestDigest: meta.manifestDigest,
      size: meta.size,
      created: meta.created,
      lastTagTime: meta.lastTagTime,
      parent: meta.parent,
    };
  }

  private tagsOf(id: string): string[] {
    return [...this.tags].filter(([, target]) => target === id).map(([name]) => name);
  }

  /** The tags a save of `ref` records: the one named, all of a repository named without tag, none for an id. */
  private tagsNamedBy(ref: string, id: string): string[] {
    if (this.isIdReference(ref, id)) return [];
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined) return [];
    if (parsed.tag !== undefined) return [familiarString(parsed)];
    const repo = familiarName(parsed);
    return this.tagsOf(id).filter((t) => familiarName(parseReference(t)) === repo);
  }

  private isIdReference(ref: string, id: string): boolean {
    const hex = ref.startsWith('sha256:') ? ref.slice('sha256:'.length) : ref;
    return (
      /^[a-f0-9]+$/.test(hex) &&
      id.slice('sha256:'.length).startsWith(hex) &&
      !this.tags.has(familiarTagOrUndefined(ref))
    );
  }

  private stored(id: string): StoredImage {
    const image = this.images.get(id);
    if (!image) throw new NotFoundError(`No such image: ${id}`);
    return image;
  }

  /**
   * Docker's lookup order: a full id, then a name, then a unique id prefix. An
   * ambiguous prefix finds nothing, as in Docker.
   */
  private find(ref: string): StoredImage {
    let notFound = () => new NotFoundError(`No such image: ${ref}`);
    if (/^sha256:[a-f0-9]{64}$/.test(ref)) {
      const image = this.images.get(ref);
      if (!image) throw notFound();
      return image;
    }
    let parsed: ImageReference | undefined;
    let parseError: unknown;
    try {
      parsed = parseReference(ref);
    } catch (e) {
      parseError = e;
    }
    if (parsed?.digest !== undefined) {
      const digest = parsed.digest;
      const name = familiarName(parsed);
      const image = [...this.images.values()].find((i) =>
        i.meta.repoDigests.some((d) => d === `${name}@${digest}`),
      );
      if (image) return image;
    } else if (parsed !== undefined) {
      const tagged = familiarString(withDefaultTag(parsed));
      const id = this.tags.get(tagged);
      if (id !== undefined) return this.stored(id);
      // Docker names the reference it looked for: `No such image: busybox:latest`.
      notFound = () => new NotFoundError(`No such image: ${tagged}`);
    }
    const prefix = ref.startsWith('sha256:') ? ref.slice('sha256:'.length) : ref;
    if (/^[a-f0-9]{1,64}$/.test(prefix)) {
      const matches = [...this.images.keys()].filter((id) => id.slice('sha256:'.length).startsWith(prefix));
      if (matches.length === 1) return this.stored(matches[0] as string);
      throw notFound();
    }
    if (parseError !== undefined) throw parseError;
    throw notFound();
  }

  private async timeBound(refs: string[] | undefined): Promise<number | undefined> {
    if (!refs || refs.length === 0) return undefined;
    const times = refs.map((r) => Date.parse(this.recordOf(this.find(r)).created));
    return Math.min(...times);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function familiarTagOrUndefined(ref: string): string {
  try {
    return familiarString(withDefaultTag(parseReference(ref)));
  } catch {
    // An id, not a name: no tag can have it.
    return '';
  }
}

function hasLabel(config: ImageConfigBlob, filter: string): boolean {
  const labels = config.config?.Labels ?? {};
  const eq = filter.indexOf('=');
  if (eq === -1) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** Docker's `until`: a unix timestamp, an RFC 3339 time, or a duration before now (`24h`). */
function parseUntil(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const duration = /^(\d+)(s|m|h)$/.exec(value);
  if (duration) {
    const unitMs = { s: 1000, m: 60_000, h: 3_600_000 }[duration[2] as 's' | 'm' | 'h'];
    return Date.now() - Number(duration[1]) * unitMs;
  }
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InvalidArgumentError(`invalid filter 'until=${value}'`);
  return time;
}

function platformArchitecture(platform: string): string {
  const [os, architecture] = platform.split('/');
  if (os !== 'linux' || !architecture) throw new InvalidArgumentError(`unsupported platform "${platform}"`);
  return architecture;
}

/**
 * Opens (creating if needed) the image store under `opts.root`, recovering from a
 * crash: half-written ingests and unpacks are removed, and so is data no image uses.
 */
export async function openImageStore(
  opts: ImageStoreOptions,
): Promise<{ images: ImageService; rootfs: RootfsService }> {
  const content = await ContentStore.open(join(opts.root, 'content'));
  const snapshotsDir = join(opts.root, 'snapshots');
  await mkdir(snapshotsDir, { recursive: true });
  const snapshots = await OverlaySnapshotter.open(snapshotsDir);
  const store = new ImageStore(join(opts.root, 'images'), content, snapshots, opts.events);
  await store.loadIndex();
  const rootfs: RootfsService = {
    create: (containerId, imageId) => store.create(containerId, imageId),
    mount: (containerId, target) => store.mount(containerId, target),
    unmount: (target) => store.unmount(target),
    remove: (containerId) => store.removeRootfs(containerId),
    sizeRw: (containerId) => store.sizeRw(containerId),
    layout: (containerId) => store.layout(containerId),
  };
  return { images: store, rootfs };
}
