/** A tiny distribution-API client for the conformance checks: raw requests and test content. */
import { createHash, randomBytes } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The spec's error codes of a 4xx body, in order. */
  codes: string[];
  json<T>(): T;
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export class Oci {
  constructor(
    readonly base: string,
    readonly authorization?: string,
  ) {}

  async request(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.authorization !== undefined) headers.Authorization ??= this.authorization;
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const body =
      typeof opts.body === 'string' || opts.body === undefined ? opts.body : new Uint8Array(opts.body);
    const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const received = Buffer.from(await res.arrayBuffer());
    let codes: string[] = [];
    if (res.status >= 400 && received.length > 0) {
      try {
        codes = (JSON.parse(received.toString()) as { errors: { code: string }[] }).errors.map((e) => e.code);
      } catch {
        codes = [];
      }
    }
    return {
      status: res.status,
      headers: res.headers,
      body: received,
      codes,
      json: <T>() => JSON.parse(received.toString()) as T,
    };
  }

  /** POST then PUT; returns the digest. */
  async pushBlob(repo: string, data: Uint8Array): Promise<string> {
    const digest = sha256(data);
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`);
    if (start.status !== 202) throw new Error(`POST upload: ${start.status} ${start.body}`);
    const location = start.headers.get('location') ?? '';
    const sep = location.includes('?') ? '&' : '?';
    const put = await this.request('PUT', `${location}${sep}digest=${digest}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    if (put.status !== 201) throw new Error(`PUT upload: ${put.status} ${put.body}`);
    return digest;
  }

  async pushManifest(
    repo: string,
    reference: string,
    manifest: Uint8Array,
    mediaType = OCI_MANIFEST,
  ): Promise<Reply> {
    return this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      headers: { 'Content-Type': mediaType },
      body: manifest,
    });
  }

  /** Pushes a config and a layer of random content, returns the manifest (not pushed). */
  async pushImageBlobs(
    repo: string,
    extra: { subject?: { digest: string; size: number }; artifactType?: string; configType?: string } = {},
  ): Promise<{ manifest: Buffer; digest: string; layer: string; config: string; layerBytes: Buffer }> {
    const configBytes = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }),
    );
    const layerBytes = randomBytes(3000);
    const config = await this.pushBlob(repo, configBytes);
    const layer = await this.pushBlob(repo, layerBytes);
    const doc: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: extra.configType ?? OCI_CONFIG, digest: config, size: configBytes.length },
      layers: [{ mediaType: OCI_LAYER, digest: layer, size: layerBytes.length }],
      annotations: { 'org.example.nonce': randomBytes(4).toString('hex') },
    };
    if (extra.artifactType !== undefined) doc.artifactType = extra.artifactType;
    if (extra.subject !== undefined) doc.subject = { mediaType: OCI_MANIFEST, ...extra.subject };
    const manifest = Buffer.from(JSON.stringify(doc));
    return { manifest, digest: sha256(manifest), layer, config, layerBytes };
  }
}
