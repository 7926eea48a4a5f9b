/**
 * The distribution API over HTTP: routes, headers and bodies. Everything about what is
 * stored lives in storage.ts; this file turns requests into its calls and RegistryErrors
 * into the spec's error bodies.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Action, Authenticator, Need } from './auth.js';
import { errorBody, RegistryError, statusOf } from './errors.js';
import { type Descriptor, MAX_MANIFEST_BYTES, OCI_INDEX } from './manifest.js';
import {
  type Algorithm,
  checkName,
  formatDigest,
  isAlgorithm,
  parseDigest,
  parseReference,
  type Reference,
} from './names.js';
import type { RegistryStorage } from './storage.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

interface Route {
  pattern: RegExp;
  methods: Record<string, (ctx: Context) => Promise<void>>;
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  name: string;
  /** The path part after the name: a reference, digest or upload id. */
  tail: string;
  storage: RegistryStorage;
  /** Whether the caller may also do `action` on another repository (a mount's source). */
  may: (name: string, action: Action) => Promise<boolean>;
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number> = {},
  body?: string,
): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body === undefined) {
    if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', 0);
    res.writeHead(status);
    res.end();
    return;
  }
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

/** `Range: 0-<last byte>` as the spec writes upload progress (0-0 before the first byte). */
function progress(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function uploadHeaders(name: string, id: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${id}`,
    Range: progress(size),
    'Docker-Upload-UUID': id,
  };
}

/** Parses a chunk's `Content-Range: <start>-<end>`; BLOB_UPLOAD_INVALID when malformed. */
function contentRange(req: IncomingMessage): { start: number; end: number } | undefined {
  const header = req.headers['content-range'];
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (match === null || end < start) {
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      `invalid Content-Range ${JSON.stringify(header)}`,
      undefined,
      'range-not-satisfiable',
    );
  }
  return { start, end };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads a body of at most `limit` bytes. A larger one is read to its end but not kept,
 * so the client still gets our 413 rather than a reset connection.
 */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new RegistryError('SIZE_INVALID', `manifest is larger than ${limit} bytes`, { limit }, 'too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = Number(req.headers['content-length'] ?? '0') > limit ? limit + 1 : 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) chunks.push(chunk);
    });
    req.once('error', reject);
    req.once('end', () => (total > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
  });
}

/** Parses a single `Range: bytes=` of a blob of `size` bytes; undefined means the whole blob. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const unsatisfiable = () =>
    new RegistryError('BLOB_UNKNOWN', `range ${header} not satisfiable`, { size }, 'range-not-satisfiable');
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) throw unsatisfiable();
  const [, first = '', last = ''] = match;
  let start: number;
  let end: number;
  if (first === '') {
    if (last === '' || Number(last) === 0) throw unsatisfiable();
    start = Math.max(size - Number(last), 0);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) throw unsatisfiable();
  }
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

/** Pagination shared by tags/list and _catalog: `n` and `last`, a `Link` when more remain. */
function paginate(all: string[], url: URL, path: string): { items: string[]; link?: string } {
  const last = url.searchParams.get('last');
  const nParam = url.searchParams.get('n');
  let items = last === null ? all : all.filter((t) => t > last);
  if (nParam === null) return { items };
  if (!/^\d+$/.test(nParam)) {
    throw new RegistryError('UNSUPPORTED', `invalid page size n=${JSON.stringify(nParam)}`, undefined);
  }
  const n = Number(nParam);
  if (items.length <= n) return { items };
  items = items.slice(0, n);
  if (n === 0) return { items };
  const next = new URLSearchParams({ n: String(n), last: items[items.length - 1] ?? '' });
  return { items, link: `<${path}?${next.toString()}>; rel="next"` };
}

function manifestReference(s: string, forWrite: boolean): Reference {
  return parseReference(s, () =>
    forWrite
      ? new RegistryError('MANIFEST_INVALID', 'manifest invalid: invalid tag', { tag: s })
      : new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', { reference: s }),
  );
}

function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
}

// ---- routes

async function getBlob(ctx: Context): Promise<void> {
  const d = parseDigest(ctx.tail);
  const blob = await ctx.storage.statBlob(ctx.name, d);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': blob.digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${blob.digest}"`,
  };
  const range = ctx.req.method === 'GET' ? byteRange(ctx.req.headers.range, blob.size) : undefined;
  if (ctx.req.method === 'HEAD') {
    send(ctx.res, 200, { ...headers, 'Content-Length': blob.size });
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? blob.size - 1;
  for (const [k, v] of Object.entries(headers)) ctx.res.setHeader(k, v);
  ctx.res.setHeader('Content-Length', Math.max(end - start + 1, 0));
  if (range !== undefined) ctx.res.setHeader('Content-Range', `bytes ${start}-${end}/${blob.size}`);
  ctx.res.writeHead(range === undefined ? 200 : 206);
  if (blob.size === 0) {
    ctx.res.end();
    return;
  }
  await pipeline(createReadStream(blob.path, { start, end }), ctx.res);
}

async function deleteBlob(ctx: Context): Promise<void> {
  await ctx.storage.deleteBlob(ctx.name, parseDigest(ctx.tail));
  send(ctx.res, 202);
}

async function startUpload(ctx: Context): Promise<void> {
  const { url, name, storage, req, res } = ctx;
  const mount = url.searchParams.get('mount');
  if (mount !== null) {
    const from = url.searchParams.get('from') ?? undefined;
    if (from !== undefined) checkName(from);
    // A mount reveals the source's blob: without pull on it, fall back to an upload.
    const readable = from === undefined || (await ctx.may(from, 'pull'));
    const blob = readable ? await storage.mountBlob(name, parseDigest(mount), from) : undefined;
    if (blob !== undefined) {
      req.resume();
      send(res, 201, { Location: `/v2/${name}/blobs/${blob.digest}`, 'Docker-Content-Digest': blob.digest });
      return;
    }
  }
  const digestParam = url.searchParams.get('digest');
  const digest = digestParam === null ? undefined : parseDigest(digestParam);
  const algorithmParam = url.searchParams.get('digest-algorithm') ?? digest?.algorithm ?? 'sha256';
  if (!isAlgorithm(algorithmParam)) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `unsupported digest algorithm ${JSON.stringify(algorithmParam)}`,
    );
  }
  const algorithm: Algorithm = algorithmParam;
  const upload = await storage.startUpload(name, algorithm);
  if (digest !== undefined) {
    // A single POST carrying the whole blob.
    const blob = await storage
      .finishUpload(name, upload.id, digest, { body: req })
      .catch(async (e: unknown) => {
        await storage.cancelUpload(name, upload.id);
        throw e;
      });
    send(res, 201, { Location: `/v2/${name}/blobs/${blob.digest}`, 'Docker-Content-Digest': blob.digest });
    return;
  }
  req.resume();
  send(res, 202, uploadHeaders(name, upload.id, 0));
}

async function uploadStatus(ctx: Context): Promise<void> {
  const upload = await ctx.storage.upload(ctx.name, ctx.tail);
  send(ctx.res, 204, uploadHeaders(ctx.name, upload.id, upload.size));
}

async function patchUpload(ctx: Context): Promise<void> {
  const range = contentRange(ctx.req);
  const upload = await ctx.storage.append(ctx.name, ctx.tail, ctx.req, range);
  send(ctx.res, 202, uploadHeaders(ctx.name, upload.id, upload.size));
}

async function putUpload(ctx: Context): Promise<void> {
  const digestParam = ctx.url.searchParams.get('digest');
  if (digestParam === null) {
    throw new RegistryError('DIGEST_INVALID', 'the closing PUT needs ?digest=');
  }
  const digest = parseDigest(digestParam);
  const range = contentRange(ctx.req);
  const last = hasBody(ctx.req) ? { body: ctx.req, ...(range === undefined ? {} : { range }) } : undefined;
  if (last === undefined) ctx.req.resume();
  const blob = await ctx.storage.finishUpload(ctx.name, ctx.tail, digest, last);
  send(ctx.res, 201, {
    Location: `/v2/${ctx.name}/blobs/${blob.digest}`,
    'Docker-Content-Digest': blob.digest,
  });
}

async function cancelUpload(ctx: Context): Promise<void> {
  await ctx.storage.cancelUpload(ctx.name, ctx.tail);
  send(ctx.res, 204);
}

async function getManifest(ctx: Context): Promise<void> {
  const m = await ctx.storage.getManifest(ctx.name, manifestReference(ctx.tail, false));
  const headers = { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"` };
  if (ctx.req.method === 'HEAD') {
    send(ctx.res, 200, { ...headers, 'Content-Length': m.bytes.length });
    return;
  }
  for (const [k, v] of Object.entries(headers)) ctx.res.setHeader(k, v);
  ctx.res.setHeader('Content-Length', m.bytes.length);
  ctx.res.writeHead(200);
  ctx.res.end(m.bytes);
}

async function putManifest(ctx: Context): Promise<void> {
  const ref = manifestReference(ctx.tail, true);
  const bytes = await readLimited(ctx.req, MAX_MANIFEST_BYTES);
  const extraTags = 'digest' in ref ? ctx.url.searchParams.getAll('tag') : [];
  const result = await ctx.storage.putManifest(ctx.name, ref, bytes, {
    contentType: mediaTypeOf(ctx.req),
    tags: extraTags,
  });
  const headers: Record<string, string> = {
    Location: `/v2/${ctx.name}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
  };
  if (result.subject !== undefined) headers['OCI-Subject'] = result.subject;
  if (extraTags.length > 0) headers['OCI-Tag'] = extraTags.join(', ');
  send(ctx.res, 201, headers);
}

async function deleteManifest(ctx: Context): Promise<void> {
  await ctx.storage.deleteManifest(ctx.name, manifestReference(ctx.tail, false));
  send(ctx.res, 202);
}

async function listTags(ctx: Context): Promise<void> {
  const page = paginate(await ctx.storage.tags(ctx.name), ctx.url, `/v2/${ctx.name}/tags/list`);
  sendJson(
    ctx.res,
    200,
    { name: ctx.name, tags: page.items },
    page.link === undefined ? {} : { Link: page.link },
  );
}

/**
 * One page of a referrers index: the descriptors after `last` (in digest order) that fit
 * in a body clients accept as a manifest, MAX_MANIFEST_BYTES. The spec asks for a `Link`
 * to the next page when the list does not fit in one manifest; `last` is our cursor.
 */
function referrersPage(all: Descriptor[], last: string | null): { page: Descriptor[]; more: boolean } {
  const sorted = [...all].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const rest = last === null ? sorted : sorted.filter((d) => d.digest > last);
  const envelope = Buffer.byteLength(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }),
  );
  const page: Descriptor[] = [];
  let size = envelope;
  for (const d of rest) {
    const entry = Buffer.byteLength(JSON.stringify(d)) + (page.length === 0 ? 0 : 1);
    // A single descriptor always goes out, even alone over the limit, so paging advances.
    if (page.length > 0 && size + entry > MAX_MANIFEST_BYTES) return { page, more: true };
    page.push(d);
    size += entry;
  }
  return { page, more: false };
}

async function listReferrers(ctx: Context): Promise<void> {
  const subject = parseDigest(ctx.tail);
  const artifactType = ctx.url.searchParams.get('artifactType');
  let manifests = await ctx.storage.referrers(ctx.name, subject);
  const headers: Record<string, string> = { 'Content-Type': OCI_INDEX };
  if (artifactType !== null) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  const { page, more } = referrersPage(manifests, ctx.url.searchParams.get('last'));
  const lastOfPage = page[page.length - 1];
  if (more && lastOfPage !== undefined) {
    const next = new URLSearchParams();
    if (artifactType !== null) next.set('artifactType', artifactType);
    next.set('last', lastOfPage.digest);
    headers.Link = `</v2/${ctx.name}/referrers/${formatDigest(subject)}?${next.toString()}>; rel="next"`;
  }
  const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: page });
  send(ctx.res, 200, headers, body);
}

const NAME = '(.+?)';
const ROUTES: Route[] = [
  {
    pattern: new RegExp(`^/v2/${NAME}/blobs/uploads/?$`),
    methods: { POST: startUpload },
  },
  {
    pattern: new RegExp(`^/v2/${NAME}/blobs/uploads/([^/]+)$`),
    methods: { GET: uploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: cancelUpload },
  },
  {
    pattern: new RegExp(`^/v2/${NAME}/blobs/([^/]+)$`),
    methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  },
  {
    pattern: new RegExp(`^/v2/${NAME}/manifests/([^/]+)$`),
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  { pattern: new RegExp(`^/v2/${NAME}/tags/list$`), methods: { GET: listTags } },
  { pattern: new RegExp(`^/v2/${NAME}/referrers/([^/]+)$`), methods: { GET: listReferrers } },
];

async function catalog(storage: RegistryStorage, url: URL, res: ServerResponse): Promise<void> {
  const page = paginate(await storage.repositories(), url, '/v2/_catalog');
  sendJson(res, 200, { repositories: page.items }, page.link === undefined ? {} : { Link: page.link });
}

export interface HandlerOptions {
  storage: RegistryStorage;
  auth: Authenticator;
  /** Where failures the client did not cause are reported. */
  log: (line: string) => void;
}

export function createHandler(opts: HandlerOptions): Handler {
  const { storage, auth, log } = opts;
  const authorize = async (req: IncomingMessage, res: ServerResponse, need?: Need) => {
    try {
      await auth.check(req.headers.authorization, need);
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'UNAUTHORIZED') {
        res.setHeader('WWW-Authenticate', auth.challenge(req, need));
      }
      throw e;
    }
  };
  return async (req, res) => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      const url = new URL(req.url ?? '/', 'http://registry');
      const path = url.pathname;
      if (path === '/token' && auth.issue !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
        await issueToken(auth.issue, req, res, url);
        return;
      }
      if (!path.startsWith('/v2')) {
        throw new RegistryError('NAME_UNKNOWN', `no route for ${path}`);
      }
      if (path === '/v2/' || path === '/v2') {
        await authorize(req, res);
        sendJson(res, 200, {});
        return;
      }
      if (path === '/v2/_catalog' && req.method === 'GET') {
        await authorize(req, res);
        await catalog(storage, url, res);
        return;
      }
      for (const route of ROUTES) {
        const match = route.pattern.exec(path);
        if (match === null) continue;
        const name = match[1] ?? '';
        const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
        await authorize(req, res, { name, action });
        checkName(name);
        const method = route.methods[req.method ?? ''];
        if (method === undefined) {
          throw new RegistryError('UNSUPPORTED', `the operation is unsupported: ${req.method} ${path}`);
        }
        const may = (other: string, wanted: Action) =>
          auth.check(req.headers.authorization, { name: other, action: wanted }).then(
            () => true,
            (e: unknown) => {
              if (e instanceof RegistryError) return false;
              throw e;
            },
          );
        await method({ req, res, url, name, tail: decodeURIComponent(match[2] ?? ''), storage, may });
        return;
      }
      await authorize(req, res);
      throw new RegistryError('NAME_UNKNOWN', `no route for ${path}`);
    } catch (e) {
      replyError(req, res, e, log);
    }
  };
}

async function issueToken(
  issue: NonNullable<Authenticator['issue']>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  req.resume();
  try {
    sendJson(res, 200, await issue(req.headers.authorization, url.searchParams.getAll('scope')));
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'UNAUTHORIZED') {
      res.setHeader('WWW-Authenticate', 'Basic realm="berth-registry"');
    }
    throw e;
  }
}

function replyError(
  req: IncomingMessage,
  res: ServerResponse,
  e: unknown,
  log: (line: string) => void,
): void {
  const error =
    e instanceof RegistryError ? e : new RegistryError('UNSUPPORTED', 'internal error', undefined);
  if (!(e instanceof RegistryError))
    log(`${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = e instanceof RegistryError ? statusOf(error) : 500;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (
    error.variant === 'range-not-satisfiable' &&
    typeof error.detail === 'object' &&
    error.detail !== null
  ) {
    const size = (error.detail as { size?: number }).size;
    if (typeof size === 'number') {
      headers[req.method === 'GET' ? 'Content-Range' : 'Range'] =
        req.method === 'GET' ? `bytes */${size}` : progress(size);
    }
  }
  // A request refused before its body was read (a bad chunk, say): drain it, so the
  // connection stays usable for the next request.
  if (!req.complete) req.resume();
  if (req.method === 'HEAD') send(res, status, headers);
  else send(res, status, headers, errorBody(error));
}
