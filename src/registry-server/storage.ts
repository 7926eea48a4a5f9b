/**
 * The registry's content-addressed store under `--root`:
 *
 *   blobs/<alg>/<hex>                                 verified content (layers, configs, manifests)
 *   uploads/<uuid>/{info.json,data}                   uploads in progress, resumable until cancelled
 *   repositories/<name>/_layers/<alg>/<hex>           the repository may serve this blob
 *   repositories/<name>/_manifests/revisions/<alg>/<hex>   a manifest of the repository ({mediaType})
 *   repositories/<name>/_manifests/tags/<tag>         the digest a tag points at
 *   repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>.json   a manifest whose subject is <alg>:<hex>
 *
 * A blob is renamed into blobs/ only after its digest is verified, and every link is
 * written after what it points to, each by temp + fsync + rename: a crash at any instant
 * leaves nothing unverified visible, at most an unreferenced blob that gc removes.
 * Repository components cannot start with `_`, so the `_` folders never clash with names.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readJsonIfExists, syncDir, writeFileAtomic, writeJsonAtomic } from '../store/index.js';
import { RegistryError } from './errors.js';
import { type Descriptor, MAX_MANIFEST_BYTES, type ParsedManifest, parseManifest } from './manifest.js';
import {
  type Algorithm,
  type Digest,
  digestOf,
  formatDigest,
  isTag,
  newHash,
  parseDigest,
  type Reference,
} from './names.js';

export interface BlobInfo {
  digest: string;
  size: number;
  path: string;
}

export interface UploadState {
  id: string;
  repo: string;
  /** Bytes received so far; the next chunk starts here. */
  size: number;
}

export interface ManifestContent {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface PutManifestResult {
  digest: string;
  subject?: string;
  tags: string[];
}

interface UploadInfo {
  repo: string;
  algorithm: Algorithm;
}

interface RevisionLink {
  mediaType: string;
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** Runs one task at a time per key, so two requests never write one upload at once. */
class KeyedQueue {
  #tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class RegistryStorage {
  readonly #root: string;
  readonly #queue = new KeyedQueue();

  constructor(root: string) {
    this.#root = root;
  }

  blobPath(d: Digest): string {
    return join(this.#root, 'blobs', d.algorithm, d.hex);
  }
  blobsDir(): string {
    return join(this.#root, 'blobs');
  }
  uploadsDir(): string {
    return join(this.#root, 'uploads');
  }
  repositoriesDir(): string {
    return join(this.#root, 'repositories');
  }
  #repo(name: string): string {
    return join(this.#root, 'repositories', name);
  }
  #layerLink(name: string, d: Digest): string {
    return join(this.#repo(name), '_layers', d.algorithm, d.hex);
  }
  #revisionLink(name: string, d: Digest): string {
    return join(this.#repo(name), '_manifests', 'revisions', d.algorithm, d.hex);
  }
  #tagLink(name: string, tag: string): string {
    return join(this.#repo(name), '_manifests', 'tags', tag);
  }
  #referrerLink(name: string, subject: Digest, d: Digest): string {
    return join(
      this.#repo(name),
      '_referrers',
      subject.algorithm,
      subject.hex,
      `${d.algorithm}-${d.hex}.json`,
    );
  }
  #upload(id: string): string {
    return join(this.#root, 'uploads', id);
  }

  async init(): Promise<void> {
    for (const dir of [this.blobsDir(), this.uploadsDir(), this.repositoriesDir()]) {
      await mkdir(dir, { recursive: true });
    }
  }

  // ---- blobs

  /** A blob the repository may serve (a pushed layer or config, or one of its manifests). BLOB_UNKNOWN. */
  async statBlob(repo: string, d: Digest): Promise<BlobInfo> {
    const linked = (await exists(this.#layerLink(repo, d))) || (await exists(this.#revisionLink(repo, d)));
    if (linked) {
      try {
        const s = await stat(this.blobPath(d));
        return { digest: formatDigest(d), size: s.size, path: this.blobPath(d) };
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    }
    throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: formatDigest(d) });
  }

  /** Unlinks a blob from one repository; its content goes when gc finds nothing else uses it. */
  async deleteBlob(repo: string, d: Digest): Promise<void> {
    await this.statBlob(repo, d);
    await rm(this.#layerLink(repo, d), { force: true });
  }

  /**
   * Links a blob of `from` (or, without `from`, any blob in the store) into `repo`.
   * Undefined when there is no such blob, and the caller starts an upload instead.
   */
  async mountBlob(repo: string, d: Digest, from: string | undefined): Promise<BlobInfo | undefined> {
    let info: BlobInfo;
    try {
      info = from === undefined ? await this.#statStored(d) : await this.statBlob(from, d);
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'BLOB_UNKNOWN') return undefined;
      throw e;
    }
    await this.#link(repo, d);
    return info;
  }

  async #statStored(d: Digest): Promise<BlobInfo> {
    try {
      const s = await stat(this.blobPath(d));
      return { digest: formatDigest(d), size: s.size, path: this.blobPath(d) };
    } catch (e) {
      if (isMissing(e)) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry');
      throw e;
    }
  }

  /** Marks a blob fresh, so a gc running now leaves it alone (see gc.ts), then links it. */
  async #link(repo: string, d: Digest): Promise<void> {
    const now = new Date();
    await utimes(this.blobPath(d), now, now);
    await writeFileAtomic(this.#layerLink(repo, d), '');
  }

  // ---- uploads

  async startUpload(repo: string, algorithm: Algorithm): Promise<UploadState> {
    const id = randomUUID();
    const dir = this.#upload(id);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, 'data'), '');
    await writeJsonAtomic(join(dir, 'info.json'), { repo, algorithm } satisfies UploadInfo);
    return { id, repo, size: 0 };
  }

  async #uploadInfo(repo: string, id: string): Promise<UploadInfo> {
    const unknown = () => new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { id });
    if (!UPLOAD_ID.test(id)) throw unknown();
    const info = await readJsonIfExists<UploadInfo>(join(this.#upload(id), 'info.json'));
    if (info === undefined || info.repo !== repo) throw unknown();
    return info;
  }

  async #uploadSize(id: string): Promise<number> {
    return (await stat(join(this.#upload(id), 'data'))).size;
  }

  /** The upload's progress. BLOB_UPLOAD_UNKNOWN. */
  upload(repo: string, id: string): Promise<UploadState> {
    return this.#queue.run(id, async () => {
      await this.#uploadInfo(repo, id);
      return { id, repo, size: await this.#uploadSize(id) };
    });
  }

  /**
   * Appends a chunk. With `start`, it must equal the bytes received so far (else 416) and
   * the chunk must hold exactly `length` bytes. A body that breaks off (a truncated
   * request) is cut back off, so the upload resumes from its last complete chunk.
   */
  append(
    repo: string,
    id: string,
    body: Readable,
    range?: { start: number; end: number },
  ): Promise<UploadState> {
    return this.#queue.run(id, async () => {
      await this.#uploadInfo(repo, id);
      return { id, repo, size: await this.#append(id, body, range) };
    });
  }

  async #append(id: string, body: Readable, range?: { start: number; end: number }): Promise<number> {
    const path = join(this.#upload(id), 'data');
    const before = await this.#uploadSize(id);
    if (range !== undefined && range.start !== before) {
      body.resume();
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        `chunk starts at ${range.start}, the upload has ${before} bytes`,
        { size: before },
        'range-not-satisfiable',
      );
    }
    try {
      await pipeline(body, createWriteStream(path, { flags: 'r+', start: before }));
    } catch (e) {
      await truncate(path, before);
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'blob upload invalid: the chunk was cut short', {
        reason: e instanceof Error ? e.message : String(e),
      });
    }
    const after = await this.#uploadSize(id);
    if (range !== undefined && after - before !== range.end - range.start + 1) {
      await truncate(path, before);
      throw new RegistryError(
        'SIZE_INVALID',
        `Content-Range ${range.start}-${range.end} does not match the ${after - before} bytes sent`,
      );
    }
    return after;
  }

  /**
   * Appends an optional last chunk, verifies the whole upload against `digest` and moves
   * it into the store. DIGEST_INVALID leaves the upload as it was, to resume or cancel.
   */
  finishUpload(
    repo: string,
    id: string,
    digest: Digest,
    last?: { body: Readable; range?: { start: number; end: number } },
  ): Promise<BlobInfo> {
    return this.#queue.run(id, async () => {
      await this.#uploadInfo(repo, id);
      if (last !== undefined) await this.#append(id, last.body, last.range);
      const data = join(this.#upload(id), 'data');
      const hash = newHash(digest.algorithm);
      await pipeline(createReadStream(data), hash);
      const actual = hash.digest('hex');
      if (actual !== digest.hex) {
        throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
          expected: formatDigest(digest),
          actual: `${digest.algorithm}:${actual}`,
        });
      }
      const target = this.blobPath(digest);
      if (!(await exists(target))) {
        const handle = await open(data, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await mkdir(dirname(target), { recursive: true });
        await rename(data, target);
        await syncDir(dirname(target));
      }
      await this.#link(repo, digest);
      await rm(this.#upload(id), { recursive: true, force: true });
      return { digest: formatDigest(digest), size: (await stat(target)).size, path: target };
    });
  }

  cancelUpload(repo: string, id: string): Promise<void> {
    return this.#queue.run(id, async () => {
      await this.#uploadInfo(repo, id);
      await rm(this.#upload(id), { recursive: true, force: true });
    });
  }

  // ---- manifests

  async #resolve(repo: string, ref: Reference): Promise<Digest> {
    const unknown = () =>
      new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', {
        name: repo,
        reference: 'tag' in ref ? ref.tag : formatDigest(ref.digest),
      });
    let d: Digest;
    if ('tag' in ref) {
      let text: string;
      try {
        text = await readFile(this.#tagLink(repo, ref.tag), 'utf8');
      } catch (e) {
        if (isMissing(e)) throw unknown();
        throw e;
      }
      d = parseDigest(text.trim());
    } else {
      d = ref.digest;
    }
    if (!(await exists(this.#revisionLink(repo, d)))) throw unknown();
    return d;
  }

  /** MANIFEST_UNKNOWN when the repository has no such tag or manifest. */
  async getManifest(repo: string, ref: Reference): Promise<ManifestContent> {
    const d = await this.#resolve(repo, ref);
    const link = await readJsonIfExists<RevisionLink>(this.#revisionLink(repo, d));
    const bytes = await readFile(this.blobPath(d));
    return { digest: formatDigest(d), mediaType: link?.mediaType ?? '', bytes };
  }

  /**
   * Stores a manifest after checking it: its digest (when pushed by digest), its syntax,
   * and that every blob or manifest it references is in the repository.
   */
  async putManifest(
    repo: string,
    ref: Reference,
    bytes: Buffer,
    opts: { contentType: string; tags?: string[] },
  ): Promise<PutManifestResult> {
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError(
        'SIZE_INVALID',
        `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
        undefined,
        'too-large',
      );
    }
    const algorithm = 'digest' in ref ? ref.digest.algorithm : 'sha256';
    const d = digestOf(algorithm, bytes);
    if ('digest' in ref && ref.digest.hex !== d.hex) {
      throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
        expected: formatDigest(ref.digest),
        actual: formatDigest(d),
      });
    }
    const tags = [...('tag' in ref ? [ref.tag] : []), ...(opts.tags ?? [])];
    for (const tag of tags) {
      if (!isTag(tag)) throw new RegistryError('MANIFEST_INVALID', 'manifest invalid: invalid tag', { tag });
    }
    const parsed = parseManifest(bytes, opts.contentType);
    await this.#requireReferences(repo, parsed);

    const target = this.blobPath(d);
    if (!(await exists(target))) await writeFileAtomic(target, bytes);
    else await utimes(target, new Date(), new Date());
    await writeJsonAtomic(this.#revisionLink(repo, d), {
      mediaType: parsed.mediaType,
    } satisfies RevisionLink);
    // gc may have removed a blob between the check and the link: look again, and take the
    // manifest back rather than leave it pointing at nothing.
    try {
      await this.#requireReferences(repo, parsed);
    } catch (e) {
      await rm(this.#revisionLink(repo, d), { force: true });
      throw e;
    }
    const result: PutManifestResult = { digest: formatDigest(d), tags };
    if (parsed.subject !== undefined) {
      const subject = parseDigest(parsed.subject);
      const descriptor: Descriptor = {
        mediaType: parsed.mediaType,
        digest: formatDigest(d),
        size: bytes.length,
      };
      if (parsed.artifactType !== undefined) descriptor.artifactType = parsed.artifactType;
      if (parsed.annotations !== undefined) descriptor.annotations = parsed.annotations;
      await writeJsonAtomic(this.#referrerLink(repo, subject, d), descriptor);
      result.subject = parsed.subject;
    }
    for (const tag of tags) await writeFileAtomic(this.#tagLink(repo, tag), formatDigest(d));
    return result;
  }

  /** MANIFEST_BLOB_UNKNOWN for each reference the repository lacks; freshens the ones it has. */
  async #requireReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    const missing: string[] = [];
    const now = new Date();
    for (const blob of parsed.blobs) {
      const d = parseDigest(blob);
      try {
        await this.statBlob(repo, d);
        await utimes(this.blobPath(d), now, now);
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
        missing.push(blob);
      }
    }
    for (const child of parsed.children) {
      const d = parseDigest(child);
      if (!(await exists(this.#revisionLink(repo, d))) || !(await exists(this.blobPath(d))))
        missing.push(child);
    }
    if (missing.length > 0) {
      throw new RegistryError(
        'MANIFEST_BLOB_UNKNOWN',
        'manifest references a manifest or blob unknown to registry',
        {
          digests: missing,
        },
      );
    }
  }

  /** By tag: removes the tag. By digest: removes the manifest and every tag on it. MANIFEST_UNKNOWN. */
  async deleteManifest(repo: string, ref: Reference): Promise<void> {
    if ('tag' in ref) {
      await this.#resolve(repo, ref);
      await rm(this.#tagLink(repo, ref.tag), { force: true });
      return;
    }
    const d = await this.#resolve(repo, ref);
    const digest = formatDigest(d);
    const tagsDir = join(this.#repo(repo), '_manifests', 'tags');
    for (const tag of await listDir(tagsDir)) {
      const text = await readFile(join(tagsDir, tag), 'utf8').catch((e: unknown) => {
        if (isMissing(e)) return '';
        throw e;
      });
      if (text.trim() === digest) await rm(join(tagsDir, tag), { force: true });
    }
    const link = await readJsonIfExists<RevisionLink>(this.#revisionLink(repo, d));
    const parsed = parseManifest(await readFile(this.blobPath(d)), link?.mediaType ?? '');
    if (parsed.subject !== undefined) {
      await rm(this.#referrerLink(repo, parseDigest(parsed.subject), d), { force: true });
    }
    await rm(this.#revisionLink(repo, d), { force: true });
  }

  // ---- discovery

  /** Tags in byte order. NAME_UNKNOWN for a repository never pushed to. */
  async tags(repo: string): Promise<string[]> {
    if (!(await exists(this.#repo(repo)))) {
      throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name: repo });
    }
    const tags = await listDir(join(this.#repo(repo), '_manifests', 'tags'));
    return tags.filter((t) => !t.startsWith('.tmp-')).sort();
  }

  /** Every repository, in byte order. */
  async repositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await listDir(dir);
      if (entries.some((e) => e === '_manifests' || e === '_layers')) found.push(prefix);
      for (const entry of entries) {
        if (entry.startsWith('_') || entry.startsWith('.')) continue;
        const path = join(dir, entry);
        if ((await stat(path)).isDirectory()) await walk(path, prefix === '' ? entry : `${prefix}/${entry}`);
      }
    };
    await walk(this.repositoriesDir(), '');
    return found.filter((r) => r !== '').sort();
  }

  /** Manifests of `repo` whose subject is `subject`, ordered by digest. */
  async referrers(repo: string, subject: Digest): Promise<Descriptor[]> {
    const dir = join(this.#repo(repo), '_referrers', subject.algorithm, subject.hex);
    const names = (await listDir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const found: Descriptor[] = [];
    for (const name of names) {
      const descriptor = await readJsonIfExists<Descriptor>(join(dir, name));
      if (descriptor !== undefined) found.push(descriptor);
    }
    return found;
  }
}
