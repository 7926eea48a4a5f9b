import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import type { ContentStore } from './content-store.js';
import { parseTaggedName } from './reference.js';
import { hexOf } from './tar-io.js';

/** One image to write: its blobs (all in the content store) and the tags to record. */
export interface SaveItem {
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  layerDigests: string[];
  /** Familiar `name:tag` strings. */
  repoTags: string[];
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/**
 * Streams a tarball that both `docker load` (any version: it reads manifest.json) and
 * OCI tools (index.json) accept. Blobs are written once however many images share them.
 */
export function saveArchive(content: ContentStore, items: readonly SaveItem[]): Readable {
  const archive = pack();
  const write = async (): Promise<void> => {
    const written = new Set<string>();
    const addBlob = async (digest: string): Promise<void> => {
      if (written.has(digest)) return;
      written.add(digest);
      const size = await content.size(digest);
      const entry = archive.entry({
        name: `blobs/sha256/${hexOf(digest)}`,
        size,
        mode: 0o644,
        mtime: new Date(0),
      });
      // tar-stream entries are streamx writables, which node's pipeline drives like its own.
      await pipeline(content.openRead(digest), entry as unknown as NodeJS.WritableStream);
    };
    const addJson = (name: string, value: unknown): void => {
      archive.entry({ name, mode: 0o644, mtime: new Date(0) }, `${JSON.stringify(value)}\n`);
    };

    addJson('oci-layout', { imageLayoutVersion: '1.0.0' });
    archive.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime: new Date(0) });
    archive.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime: new Date(0) });
    for (const item of items) {
      for (const digest of [item.manifestDigest, item.configDigest, ...item.layerDigests])
        await addBlob(digest);
    }

    const descriptors: Record<string, unknown>[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const item of items) {
      const descriptor = {
        mediaType: item.manifestMediaType,
        digest: item.manifestDigest,
        size: await content.size(item.manifestDigest),
      };
      if (item.repoTags.length === 0) descriptors.push(descriptor);
      const top = item.layerDigests[item.layerDigests.length - 1] ?? item.configDigest;
      for (const repoTag of item.repoTags) {
        const ref = parseTaggedName(repoTag);
        const name = repoTag.slice(0, repoTag.length - `:${ref.tag}`.length);
        descriptors.push({
          ...descriptor,
          annotations: {
            'io.containerd.image.name': `${ref.domain}/${ref.path}:${ref.tag}`,
            'org.opencontainers.image.ref.name': ref.tag,
          },
        });
        repositories[name] = { ...(repositories[name] ?? {}), [ref.tag as string]: hexOf(top) };
      }
    }
    addJson('index.json', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors });
    addJson(
      'manifest.json',
      items.map((item) => ({
        Config: `blobs/sha256/${hexOf(item.configDigest)}`,
        RepoTags: item.repoTags.length > 0 ? item.repoTags : null,
        Layers: item.layerDigests.map((d) => `blobs/sha256/${hexOf(d)}`),
      })),
    );
    if (Object.keys(repositories).length > 0) addJson('repositories', repositories);
    archive.finalize();
  };
  write().catch((e: unknown) => archive.destroy(e instanceof Error ? e : new Error(String(e))));
  return archive as unknown as Readable;
}
