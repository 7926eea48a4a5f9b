import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { ImageConfigBlob, ImageHistoryItem } from '../../api/index.js';
import type { OverlaySnapshotter, PendingLayer } from '../snapshot/index.js';
import { applyChanges } from './changes.js';
import type { ContentStore, IngestedFile } from './content-store.js';
import { applyLayerTar } from './layer-apply.js';
import { packUpperDir } from './layer-diff.js';
import { LAYER_TAR, type VerifiedLayer } from './layer-ingest.js';
import type { CommitOptions } from './types.js';

/** The parent image as the store keeps it. */
export interface CommitParent {
  config: ImageConfigBlob;
  chainIds: string[];
  layers: { digest: string; mediaType: string; size: number }[];
}

/** A committed container's image, staged: nothing is visible until the store commits it. */
export interface StagedCommit {
  config: ImageConfigBlob;
  configBlob: IngestedFile;
  layer: VerifiedLayer;
  layerBlob: IngestedFile;
  /** Chain ids of the new image, bottom first. */
  chainIds: string[];
  /** Removes what staging wrote. */
  discard(): Promise<void>;
}

/**
 * Stages a new image from the container's upper dir on top of `parent`: the layer tar
 * is written to ingest/, unpacked into a pending snapshot (unless an identical chain
 * exists), and the config gets the runtime config, the changes and a history entry.
 */
export async function stageCommit(
  deps: { content: ContentStore; snapshots: OverlaySnapshotter },
  parent: CommitParent,
  opts: CommitOptions & { chainIdsOf: (diffIds: readonly string[]) => string[] },
): Promise<StagedCommit> {
  const runtimeConfig = applyChanges(opts.config, opts.changes ?? []);
  const { upperDir } = deps.snapshots.activeLayout(opts.containerId);
  const layerBlob = await deps.content.ingest(await packUpperDir(upperDir));
  const diffId = layerBlob.digest;
  const diffIds = [...parent.config.rootfs.diff_ids, diffId];
  const chainIds = opts.chainIdsOf(diffIds);
  const chainId = chainIds[chainIds.length - 1] as string;
  let pending: PendingLayer | undefined;
  try {
    if (!deps.snapshots.hasLayer(chainId)) {
      pending = await deps.snapshots.unpackLayer(
        chainId,
        parent.chainIds[parent.chainIds.length - 1] ?? null,
        (merged) => applyLayerTar(createReadStream(layerBlob.path), merged, `layer ${diffId}`),
      );
    }
    const created = new Date().toISOString();
    // A parent without history still has a row per layer, so history and layers stay aligned.
    const parentHistory: ImageHistoryItem[] =
      parent.config.history && parent.config.history.length > 0
        ? parent.config.history
        : parent.config.rootfs.diff_ids.map(() => ({ created: parent.config.created ?? created }));
    const entry: ImageHistoryItem = {
      created,
      ...(opts.author ? { author: opts.author } : {}),
      created_by: opts.createdBy ?? '',
      ...(opts.comment ? { comment: opts.comment } : {}),
    };
    const { author: _parentAuthor, ...inherited } = parent.config;
    const config: ImageConfigBlob = {
      ...inherited,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config: runtimeConfig,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: [...parentHistory, entry],
    };
    const configBlob = await deps.content.ingestBytes(Buffer.from(JSON.stringify(config)));
    return {
      config,
      configBlob,
      layerBlob,
      chainIds,
      layer: {
        digest: diffId,
        diffId,
        mediaType: LAYER_TAR,
        size: layerBlob.size,
        ...(pending ? { pending } : {}),
      },
      discard: async () => {
        await pending?.discard();
        await rm(layerBlob.path, { force: true });
        await rm(configBlob.path, { force: true });
      },
    };
  } catch (e) {
    await pending?.discard();
    await rm(layerBlob.path, { force: true });
    throw e;
  }
}
